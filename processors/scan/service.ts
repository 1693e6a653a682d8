import { createScanner } from '../../lib/adapters/index.ts';
import { TOPICS } from '../../lib/events/topics.ts';
import { stageService } from '../../lib/pipeline/stage-service.ts';
import type { StageDefinition } from '../../lib/pipeline/stage.ts';
import { scanVerdictCounter, type ScanDependencies } from '../../lib/scan-original.ts';
import { createScanStage } from './scan-stage.ts';

/** The scan stage as the runner consumes it: group progimage-scan, image.uploaded in, image.failed at scan when given up. */
export const scanStage = (dependencies: ScanDependencies): StageDefinition<typeof TOPICS.imageUploaded> => ({
  stage: 'scan',
  input: TOPICS.imageUploaded,
  handle: createScanStage(dependencies),
});

export const scanService = stageService(({ config, live, blobs, metrics }) => {
  const scanner = createScanner(live);
  return {
    definition: scanStage({ blobs, scanner, verdicts: scanVerdictCounter(metrics) }),
    ...(config.scan.clamd === null ? {} : { readiness: { scanner: () => scanner.checkHealth() } }),
  };
});
