import { createScanner } from '../../lib/adapters/index.ts';
import { TOPICS } from '../../lib/events/topics.ts';
import { stageService } from '../../lib/pipeline/stage-service.ts';
import { createTransformStage, reportGivenUpItem } from './transform-stage.ts';

export const transformService = stageService(({ config, blobs }) => {
  const scanner = createScanner(config);
  const handle = createTransformStage({
    blobs,
    scanner,
    acceptedFormats: config.uploads.acceptedFormats,
    maxBytes: config.uploads.maxBytes,
    fetch: config.fetch,
    timeoutMs: config.transforms.timeoutMs,
  });
  return {
    definition: { stage: 'transform', input: TOPICS.transformRequested, handle, reportGivenUp: reportGivenUpItem },
    ...(scanner.enabled ? { readiness: { scanner: () => scanner.checkHealth() } } : {}),
  };
});
