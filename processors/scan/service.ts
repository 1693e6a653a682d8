import { createScanner } from '../../lib/adapters/index.ts';
import { TOPICS } from '../../lib/events/topics.ts';
import { stageService } from '../../lib/pipeline/stage-service.ts';
import { createScanStage } from './scan-stage.ts';

export const scanService = stageService(({ config, blobs }) => {
  const scanner = createScanner(config);
  return {
    definition: { stage: 'scan', input: TOPICS.imageUploaded, handle: createScanStage({ blobs, scanner }) },
    ...(scanner.enabled ? { readiness: { scanner: () => scanner.checkHealth() } } : {}),
  };
});
