import { TOPICS } from '../../lib/events/topics.ts';
import { stageService } from '../../lib/pipeline/stage-service.ts';
import type { StageDefinition } from '../../lib/pipeline/stage.ts';
import { createCompressStage, type CompressStageDependencies } from './compress-stage.ts';

/** The compress stage as the runner consumes it: group progimage-compress, image.stripped in, image.failed at compress when given up. */
export const compressStage = (dependencies: CompressStageDependencies): StageDefinition<typeof TOPICS.imageStripped> => ({
  stage: 'compress',
  input: TOPICS.imageStripped,
  handle: createCompressStage(dependencies),
});

export const compressService = stageService(({ blobs, pixelWork }) => ({ definition: compressStage({ blobs, pixelWork }) }));
