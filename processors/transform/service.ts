import { createScanner } from '../../lib/adapters/index.ts';
import { TOPICS } from '../../lib/events/topics.ts';
import { stageService } from '../../lib/pipeline/stage-service.ts';
import type { StageDefinition } from '../../lib/pipeline/stage.ts';
import { createTransformStage, reportGivenUpItem, type TransformStageDependencies } from './transform-stage.ts';

/** The transform stage as the runner consumes it: group progimage-transform, transform.requested in; an item given up on completes as failed. */
export const transformStage = (dependencies: TransformStageDependencies): StageDefinition<typeof TOPICS.transformRequested> => ({
  stage: 'transform',
  input: TOPICS.transformRequested,
  handle: createTransformStage(dependencies),
  reportGivenUp: reportGivenUpItem,
});

export const transformService = stageService(({ config, live, blobs, pixelWork }) => {
  const scanner = createScanner(live);
  return {
    definition: transformStage({
      blobs,
      scanner,
      acceptedFormats: config.uploads.acceptedFormats,
      maxBytes: () => live.current().uploads.maxBytes,
      fetch: config.fetch,
      timeoutMs: () => live.current().transforms.timeoutMs,
      pixelWork,
    }),
    ...(config.scan.clamd === null ? {} : { readiness: { scanner: () => scanner.checkHealth() } }),
  };
});
