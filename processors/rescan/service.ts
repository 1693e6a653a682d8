import { createScanner } from '../../lib/adapters/index.ts';
import { TOPICS } from '../../lib/events/topics.ts';
import { stageService } from '../../lib/pipeline/stage-service.ts';
import type { StageDefinition } from '../../lib/pipeline/stage.ts';
import { scanVerdictCounter, type ScanDependencies } from '../../lib/scan-original.ts';
import { createRescanStage } from './rescan-stage.ts';

/** A re-scan that keeps failing goes to the dead-letter topic only: the image keeps its earlier verdict. */
export const rescanStage = (dependencies: ScanDependencies): StageDefinition<typeof TOPICS.imageRescanRequested> => ({
  stage: 'rescan',
  input: TOPICS.imageRescanRequested,
  handle: createRescanStage(dependencies),
  reportGivenUp: () => [],
});

export const rescanService = stageService(({ config, live, blobs, metrics }) => {
  const scanner = createScanner(live);
  return {
    definition: rescanStage({ blobs, scanner, verdicts: scanVerdictCounter(metrics) }),
    ...(config.scan.clamd === null ? {} : { readiness: { scanner: () => scanner.checkHealth() } }),
  };
});
