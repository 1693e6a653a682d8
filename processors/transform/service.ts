import { createScanner } from '../../lib/adapters/index.ts';
import { TOPICS } from '../../lib/events/topics.ts';
import { stageService } from '../../lib/pipeline/stage-service.ts';
import { createTransformStage, reportGivenUpItem } from './transform-stage.ts';

export const transformService = stageService(({ config, live, blobs, pixelWork }) => {
  const scanner = createScanner(live);
  const handle = createTransformStage({
    blobs,
    scanner,
    acceptedFormats: config.uploads.acceptedFormats,
    maxBytes: () => live.current().uploads.maxBytes,
    fetch: config.fetch,
    timeoutMs: () => live.current().transforms.timeoutMs,
    pixelWork,
  });
  return {
    definition: { stage: 'transform', input: TOPICS.transformRequested, handle, reportGivenUp: reportGivenUpItem },
    ...(config.scan.clamd === null ? {} : { readiness: { scanner: () => scanner.checkHealth() } }),
  };
});
