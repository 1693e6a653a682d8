import { TOPICS } from '../../lib/events/topics.ts';
import { stageService } from '../../lib/pipeline/stage-service.ts';
import type { StageDefinition } from '../../lib/pipeline/stage.ts';
import { createStripStage, type StripStageDependencies } from './strip-stage.ts';

/** The strip stage as the runner consumes it: group progimage-strip, image.scanned in, image.failed at strip when given up. */
export const stripStage = (dependencies: StripStageDependencies): StageDefinition<typeof TOPICS.imageScanned> => ({
  stage: 'strip',
  input: TOPICS.imageScanned,
  handle: createStripStage(dependencies),
});

export const stripService = stageService(({ blobs, pixelWork }) => ({ definition: stripStage({ blobs, pixelWork }) }));
