import { TOPICS } from '../../lib/events/topics.ts';
import { stageService } from '../../lib/pipeline/stage-service.ts';
import type { StageDefinition } from '../../lib/pipeline/stage.ts';
import { createVariantsStage, type VariantsStageDependencies } from './variants-stage.ts';

/** The variants stage as the runner consumes it: group progimage-variants, image.compressed in, image.failed at variants when given up. */
export const variantsStage = (dependencies: VariantsStageDependencies): StageDefinition<typeof TOPICS.imageCompressed> => ({
  stage: 'variants',
  input: TOPICS.imageCompressed,
  handle: createVariantsStage(dependencies),
});

export const variantsService = stageService(({ blobs, live, pixelWork }) => ({
  definition: variantsStage({ blobs, transforms: () => live.current().transforms, pixelWork }),
}));
