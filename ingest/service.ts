import Router from '@koa/router';
import { createScanner } from '../lib/adapters/index.ts';
import { openUsageCollection } from '../lib/auth/stored-bytes.ts';
import { TOPICS } from '../lib/events/topics.ts';
import { DEFAULT_RETRY_POLICY } from '../lib/pipeline/retry.ts';
import { startStage } from '../lib/pipeline/stage.ts';
import type { ServiceFactory } from '../lib/service/host.ts';
import { createIngestRequestedStage } from './ingest-requested-stage.ts';
import { transformRoutes } from './transform-routes.ts';
import { uploadRoutes } from './upload-routes.ts';

/** The write side: POST /v1/images, POST /v1/transform, and ingest.requested from upstream systems. */
export const ingestService: ServiceFactory = async ({ config, live, bus, blobs, log, metrics, catalogStore, transformSlots }) => {
  const limits = { acceptedFormats: config.uploads.acceptedFormats, maxBytes: () => live.current().uploads.maxBytes, fetch: config.fetch };
  const acceptance = { bus, blobs, ...limits };
  const scanner = createScanner(live);
  const subscription = await startStage(
    { stage: 'ingest', input: TOPICS.ingestRequested, handle: createIngestRequestedStage(acceptance) },
    { bus, log: log.child({ stage: 'ingest' }), retry: DEFAULT_RETRY_POLICY, metrics },
  );
  const routes = new Router();
  const usage = await openUsageCollection(await catalogStore());
  routes.use(uploadRoutes({ ...acceptance, usage, defaultTtlSeconds: config.uploads.defaultTtlSeconds }).routes(), transformRoutes({ ...limits, scanner, timeoutMs: () => live.current().transforms.timeoutMs, slots: transformSlots }).routes());
  return {
    name: 'ingest',
    routes,
    ...(config.scan.clamd === null ? {} : { readiness: { scanner: () => scanner.checkHealth() } }),
    stop: () => subscription.stop(),
  };
};
