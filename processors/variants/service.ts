import { TOPICS } from '../../lib/events/topics.ts';
import { stageService } from '../../lib/pipeline/stage-service.ts';
import { createVariantsStage } from './variants-stage.ts';

export const variantsService = stageService(({ blobs, config }) => ({
  definition: {
    stage: 'variants',
    input: TOPICS.imageCompressed,
    handle: createVariantsStage({ blobs, presets: config.transforms.presets, timeoutMs: config.transforms.timeoutMs }),
  },
}));
