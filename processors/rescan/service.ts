import { createScanner } from '../../lib/adapters/index.ts';
import { TOPICS } from '../../lib/events/topics.ts';
import { stageService } from '../../lib/pipeline/stage-service.ts';
import { scanVerdictCounter } from '../../lib/scan-original.ts';
import { createRescanStage } from './rescan-stage.ts';

/** A re-scan that keeps failing goes to the dead-letter topic only: the image keeps its earlier verdict. */
export const rescanService = stageService(({ config, live, blobs, metrics }) => {
  const scanner = createScanner(live);
  return {
    definition: {
      stage: 'rescan',
      input: TOPICS.imageRescanRequested,
      handle: createRescanStage({ blobs, scanner, verdicts: scanVerdictCounter(metrics) }),
      reportGivenUp: () => [],
    },
    ...(config.scan.clamd === null ? {} : { readiness: { scanner: () => scanner.checkHealth() } }),
  };
});
