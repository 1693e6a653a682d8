import Router from '@koa/router';
import { batchPaths } from './batch-contract.ts';
import { imagePaths } from './image-contract.ts';
import { signedUrlPaths } from './signed-url-contract.ts';
import { statsPaths } from './stats-contract.ts';
import type { ServiceFactory } from '../lib/service/host.ts';
import { createOutcomeAnnouncer } from './announce-outcome.ts';
import { batchRoutes } from './batch-routes.ts';
import { BlobCache } from './blob-cache.ts';
import { openBatchCollections } from './batches-collection.ts';
import { HitCounter } from './hit-counter.ts';
import { LivenessChecks } from './liveness-checks.ts';
import { imageRoutes } from './image-routes.ts';
import { signedUrlRoutes } from './signed-url-routes.ts';
import { openImagesCollection } from './images-collection.ts';
import { startProjector } from './projector.ts';
import { MasterCache } from './master-cache.ts';
import { ReadyRecords } from './ready-records.ts';
import { Renditions } from './renditions.ts';
import { openImageStats } from './image-stats.ts';
import { statsRoutes } from './stats-routes.ts';
import { ResponseCache } from '../lib/http/response-cache.ts';
import { openUsageCollection, StoredBytes } from '../lib/auth/stored-bytes.ts';
import { StoredOnce } from './stored-once.ts';
import { Transformations } from './transformations.ts';

const BLOB_CACHE_BYTES = 64 * 1024 * 1024;
const CACHED_BLOB_MAX_BYTES = 512 * 1024;
/** Masters read lately, for the misses that follow (several widths of one image are asked for at once). */
const MASTER_CACHE = { maxBytes: 32 * 1024 * 1024, maxMasterBytes: 8 * 1024 * 1024 };
/** URLs whose responses are answered before the framework; each entry shares its bytes with the blob cache. */
const CACHED_RESPONSES = 10_000;
/** Blobs of one image stored within this long of each other share one check that the image is still live. */
const LIVENESS_WINDOW_MS = 100;
/** Ready images whose records the pixel routes read lately (about 2 KB each). */
const CACHED_RECORDS = 10_000;

/** The read API: images, their formats and transformations, statistics, batches, signed URLs, the OpenAPI and AsyncAPI documents. */
export const catalogApi: ServiceFactory = async ({
  config,
  live,
  bus,
  blobs,
  log,
  metrics,
  catalogStore,
  transformSlots,
  imageChanges,
}) => {
  const store = await catalogStore();
  const images = await openImagesCollection(store);
  const batches = await openBatchCollections(store);
  const responses = new ResponseCache(CACHED_RESPONSES, config.http.responseCacheMs);
  const records = new ReadyRecords({ images, blobs }, { maxEntries: CACHED_RECORDS, freshMs: config.http.responseCacheMs });
  imageChanges.listen((id) => {
    responses.forget(id);
    records.forget(id);
  });
  const storedBytes = new StoredBytes(await openUsageCollection(store));
  const stats = await openImageStats(store);
  const hits = new HitCounter({ stats, ...config.stats, log, metrics });
  const liveness = new LivenessChecks(async (imageId) => {
    const status = (await images.get(imageId))?.document.status;
    return status !== undefined && status !== 'deleted';
  }, LIVENESS_WINDOW_MS);
  // Small derived images served lately, in memory: a cached GET then costs no blob store round trip.
  const stored = new StoredOnce({
    blobs,
    cache: new BlobCache(BLOB_CACHE_BYTES, CACHED_BLOB_MAX_BYTES),
    isLive: liveness.isLive,
    log,
    metrics,
  });
  const timeoutMs = () => live.current().transforms.timeoutMs;
  const masters = new MasterCache(blobs, MASTER_CACHE, metrics);
  const transformations = new Transformations({ masters, stored, metrics, timeoutMs, slots: transformSlots });
  const renditions = new Renditions({ masters, stored, slots: transformSlots, timeoutMs });
  const routes = new Router();
  const transforms = () => live.current().transforms;
  routes.use(
    imageRoutes({
      images,
      storedBytes,
      blobs,
      renditions,
      transformations,
      transforms,
      responses,
      records,
      stored,
      hits,
      announce: createOutcomeAnnouncer(bus, images),
    }).routes(),
    statsRoutes({ images, blobs, stats, hits }).routes(),
    batchRoutes({ bus, images, batches, blobs, transforms }).routes(),
    signedUrlRoutes().routes(),
  );
  return {
    name: 'catalog-api',
    routes,
    contract: { ...imagePaths, ...statsPaths, ...batchPaths, ...signedUrlPaths },
    fastPath: (request, response, admitted, headers) => responses.serve(request, response, admitted, headers),
    readiness: { 'catalog-store': () => store.checkHealth() },
    stop: async () => {
      await stored.settled();
      await hits.stop();
    },
  };
};

/** The projection: every event recorded in the catalog store (images, batch items, stored bytes). */
export const catalogProjector: ServiceFactory = async ({ config, bus, blobs, log, metrics, catalogStore, imageChanges }) => {
  const store = await catalogStore();
  const projector = await startProjector({
    bus,
    blobs,
    images: await openImagesCollection(store),
    batches: await openBatchCollections(store),
    storedBytes: new StoredBytes(await openUsageCollection(store)),
    log: log.child({ stage: 'catalog' }),
    metrics,
    imageChanged: (id) => {
      imageChanges.announce(id);
    },
    concurrency: config.pipeline.consumerConcurrency,
  });
  return {
    name: 'catalog',
    readiness: { 'catalog-store': () => store.checkHealth() },
    stop: () => projector.stop(),
  };
};
