import { createScanner } from '../../lib/adapters/index.ts';
import { TOPICS } from '../../lib/events/topics.ts';
import { stageService } from '../../lib/pipeline/stage-service.ts';
import { scanVerdictCounter } from '../../lib/scan-original.ts';
import { createScanStage } from './scan-stage.ts';

export const scanService = stageService(({ config, live, blobs, metrics }) => {
  const scanner = createScanner(live);
  return {
    definition: { stage: 'scan', input: TOPICS.imageUploaded, handle: createScanStage({ blobs, scanner, verdicts: scanVerdictCounter(metrics) }) },
    ...(config.scan.clamd === null ? {} : { readiness: { scanner: () => scanner.checkHealth() } }),
  };
});
