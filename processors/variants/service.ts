import { TOPICS } from '../../lib/events/topics.ts';
import { stageService } from '../../lib/pipeline/stage-service.ts';
import { createVariantsStage } from './variants-stage.ts';

export const variantsService = stageService(({ blobs, live, pixelWork }) => ({
  definition: {
    stage: 'variants',
    input: TOPICS.imageCompressed,
    handle: createVariantsStage({ blobs, transforms: () => live.current().transforms, pixelWork }),
  },
}));
