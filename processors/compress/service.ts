import { TOPICS } from '../../lib/events/topics.ts';
import { stageService } from '../../lib/pipeline/stage-service.ts';
import { createCompressStage } from './compress-stage.ts';

export const compressService = stageService(({ blobs, pixelWork }) => ({
  definition: { stage: 'compress', input: TOPICS.imageStripped, handle: createCompressStage({ blobs, pixelWork }) },
}));
