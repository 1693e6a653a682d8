import Router from '@koa/router';
import type { Config, LiveConfig } from '../lib/config/index.ts';
import { createScanner } from '../lib/adapters/index.ts';
import { openUsageCollection } from '../lib/auth/stored-bytes.ts';
import { TOPICS } from '../lib/events/topics.ts';
import { DEFAULT_RETRY_POLICY } from '../lib/pipeline/retry.ts';
import { startStage } from '../lib/pipeline/stage.ts';
import type { ServiceFactory } from '../lib/service/host.ts';
import { createIngestRequestedStage } from './ingest-requested-stage.ts';
import { transformRoutes } from './transform-routes.ts';
import { uploadRoutes } from './upload-routes.ts';

/** What an upload must satisfy, whichever way it arrives. */
const uploadLimits = (config: Config, live: LiveConfig) => ({
  acceptedFormats: config.uploads.acceptedFormats,
  maxBytes: () => live.current().uploads.maxBytes,
  fetch: config.fetch,
});

/** The write API: POST /v1/images and POST /v1/transform. */
export const ingestApi: ServiceFactory = async ({ config, live, bus, blobs, catalogStore, transformSlots }) => {
  const limits = uploadLimits(config, live);
  const scanner = createScanner(live);
  const usage = await openUsageCollection(await catalogStore());
  const routes = new Router();
  routes.use(
    uploadRoutes({ bus, blobs, ...limits, usage, defaultTtlSeconds: config.uploads.defaultTtlSeconds }).routes(),
    transformRoutes({ ...limits, scanner, timeoutMs: () => live.current().transforms.timeoutMs, slots: transformSlots }).routes(),
  );
  return {
    name: 'ingest-api',
    routes,
    ...(config.scan.clamd === null ? {} : { readiness: { scanner: () => scanner.checkHealth() } }),
    stop: () => Promise.resolve(),
  };
};

/** ingest.requested from upstream systems, taken in as uploads. */
export const ingestRequests: ServiceFactory = async ({ config, live, bus, blobs, log, metrics }) => {
  const subscription = await startStage(
    { stage: 'ingest', input: TOPICS.ingestRequested, handle: createIngestRequestedStage({ bus, blobs, ...uploadLimits(config, live) }) },
    { bus, log: log.child({ stage: 'ingest' }), retry: DEFAULT_RETRY_POLICY, metrics },
  );
  return { name: 'ingest', stop: () => subscription.stop() };
};
