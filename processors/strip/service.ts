import { TOPICS } from '../../lib/events/topics.ts';
import { stageService } from '../../lib/pipeline/stage-service.ts';
import { createStripStage } from './strip-stage.ts';

export const stripService = stageService(({ blobs, pixelWork }) => ({
  definition: { stage: 'strip', input: TOPICS.imageScanned, handle: createStripStage({ blobs, pixelWork }) },
}));
