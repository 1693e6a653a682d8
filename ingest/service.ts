import { TOPICS } from '../lib/events/topics.ts';
import { DEFAULT_RETRY_POLICY } from '../lib/pipeline/retry.ts';
import { startStage } from '../lib/pipeline/stage.ts';
import type { ServiceFactory } from '../lib/service/host.ts';
import { createIngestRequestedStage } from './ingest-requested-stage.ts';
import { uploadRoutes } from './upload-routes.ts';

/** The write side: POST /v1/images, and ingest.requested from upstream systems. */
export const ingestService: ServiceFactory = async ({ config, bus, blobs, log }) => {
  const acceptance = { bus, blobs, acceptedFormats: config.uploads.acceptedFormats, maxBytes: config.uploads.maxBytes };
  const subscription = await startStage(
    { stage: 'ingest', input: TOPICS.ingestRequested, handle: createIngestRequestedStage(acceptance) },
    { bus, log: log.child({ stage: 'ingest' }), retry: DEFAULT_RETRY_POLICY },
  );
  return {
    name: 'ingest',
    routes: uploadRoutes(acceptance),
    stop: () => subscription.stop(),
  };
};
