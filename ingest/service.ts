import Router from '@koa/router';
import { ingestPaths } from './contract.ts';
import { Counter, type Registry } from 'prom-client';
import type { Config, LiveConfig } from '../lib/config/index.ts';
import { createScanner } from '../lib/adapters/index.ts';
import { openIngestCredentials } from '../lib/auth/ingest-credentials.ts';
import { openUsageCollection } from '../lib/auth/stored-bytes.ts';
import { openTenantCollections } from '../lib/auth/tenants.ts';
import { exportBacklogGauges } from '../lib/backlog/backlog-metrics.ts';
import { BacklogSampler, backlogHealthOf } from '../lib/backlog/backlog-sampler.ts';
import { openPipelineImages } from '../lib/backlog/pipeline-images.ts';
import { encodeOutcome } from '../lib/events/outcomes.ts';
import { TOPICS } from '../lib/events/topics.ts';
import { namespaced } from '../lib/kafka/names.ts';
import { sharedMetric } from '../lib/metrics.ts';
import { eventPublication, runMessageConsumer } from '../lib/pipeline/consumer.ts';
import { DEFAULT_RETRY_POLICY } from '../lib/pipeline/retry.ts';
import { imageFailedAt, startStage } from '../lib/pipeline/stage.ts';
import type { ServiceFactory } from '../lib/service/host.ts';
import { createAdmission } from './admit-request.ts';
import { openImageIdClaims } from '../lib/auth/image-id-claims.ts';
import { createIntakeStage } from './intake-stage.ts';
import { pipelineRoutes } from './pipeline-routes.ts';
import { rejectionOutcome } from './rejection-outcome.ts';
import { transformRoutes } from './transform-routes.ts';
import { uploadRoutes } from './upload-routes.ts';

/** What an upload must satisfy, whichever way it arrives. */
const uploadLimits = (config: Config, live: LiveConfig) => ({
  acceptedFormats: config.uploads.acceptedFormats,
  maxBytes: () => live.current().uploads.maxBytes,
  fetch: config.fetch,
});

/**
 * The write API: POST /v1/images and POST /v1/transform; and GET /v1/pipeline,
 * from the backlog this process counts (which its uploads wait behind).
 */
export const ingestApi: ServiceFactory = async ({ config, live, bus, blobs, log, metrics, catalogStore, transformSlots }) => {
  const limits = uploadLimits(config, live);
  const scanner = createScanner(live);
  const store = await catalogStore();
  const usage = await openUsageCollection(store);
  const claims = await openImageIdClaims(store);
  const images = await openPipelineImages(store);
  const sampler = new BacklogSampler(images, { intervalMs: config.backlog.sampleMs, log: log.child({ component: 'pipeline-backlog' }) });
  sampler.start();
  exportBacklogGauges(sampler, metrics);
  const pipeline = { images, sampler };
  const routes = new Router();
  routes.use(
    uploadRoutes({ bus, blobs, ...limits, usage, claims, defaultTtlSeconds: config.uploads.defaultTtlSeconds, pipeline }).routes(),
    transformRoutes({ ...limits, scanner, timeoutMs: () => live.current().transforms.timeoutMs, slots: transformSlots }).routes(),
    pipelineRoutes(pipeline).routes(),
  );
  return {
    name: 'ingest-api',
    routes,
    contract: ingestPaths,
    readiness: {
      'pipeline-backlog': () => Promise.resolve(backlogHealthOf(sampler.current(), config.backlog.degradedSeconds)),
      ...(config.scan.clamd === null ? {} : { scanner: () => scanner.checkHealth() }),
    },
    stop: () => sampler.stop(),
  };
};

/** Ingest requests refused, by reason: each is also an ingest.rejected outcome and a dead letter. */
const rejectionCounter = (registry: Registry) =>
  sharedMetric(
    registry,
    'progimage_ingest_rejections_total',
    (registers) =>
      new Counter({
        name: 'progimage_ingest_rejections_total',
        help: 'Upstream ingest requests rejected (nothing stored), by reason',
        labelNames: ['reason'] as const,
        registers,
      }),
  );

/**
 * Upstream systems' requests, in two consumers: admission (ingest.requested →
 * ingest.admitted, or ingest.rejected on the outcome topic) proves each
 * request's tenant and claims its image id; intake (ingest.admitted →
 * image.uploaded) takes the image in as an upload.
 */
export const ingestRequests: ServiceFactory = async ({ config, live, bus, blobs, log, metrics, catalogStore }) => {
  const store = await catalogStore();
  const { tenants } = await openTenantCollections(store);
  const claims = await openImageIdClaims(store);
  const topicName = namespaced(TOPICS.ingestRequested, config.kafka?.namespace ?? null);
  const admit = createAdmission({
    credentials: await openIngestCredentials(store),
    tenants,
    claims,
    images: await openPipelineImages(store),
    topicName,
    maxAgeSeconds: config.uploads.ingestMaxAgeSeconds,
    now: Date.now,
  });
  const rejections = rejectionCounter(metrics);
  const admission = await runMessageConsumer({
    bus,
    log: log.child({ stage: 'admission' }),
    group: 'progimage-ingest',
    topics: [TOPICS.ingestRequested],
    retry: DEFAULT_RETRY_POLICY,
    metrics,
    handle: async (message) => [eventPublication(await admit(message))],
    reportGivenUp: (message, _givenUp, failure) => {
      const rejected = rejectionOutcome(message, topicName, failure);
      rejections.inc({ reason: rejected.payload.reason });
      return [{ topic: TOPICS.outcomes, message: { key: rejected.imageId ?? message.key, value: encodeOutcome(rejected) } }];
    },
  });
  const intake = await startStage(
    {
      stage: 'intake',
      input: TOPICS.ingestAdmitted,
      handle: createIntakeStage({
        bus,
        blobs,
        ...uploadLimits(config, live),
        usage: await openUsageCollection(store),
        claims,
        tenants,
        defaultTtlSeconds: config.uploads.defaultTtlSeconds,
      }),
      reportGivenUp: imageFailedAt('ingest'),
    },
    { bus, log: log.child({ stage: 'intake' }), retry: DEFAULT_RETRY_POLICY, metrics },
  );
  return {
    name: 'ingest',
    readiness: { 'catalog-store': () => store.checkHealth() },
    stop: async () => {
      await Promise.all([admission.stop(), intake.stop()]);
    },
  };
};
