import { TOPICS } from '../lib/events/topics.ts';
import { runMessageConsumer } from '../lib/pipeline/consumer.ts';
import { DEFAULT_RETRY_POLICY } from '../lib/pipeline/retry.ts';
import type { ServiceFactory } from '../lib/service/host.ts';
import { createDeliveryAttempt } from './attempt-delivery.ts';
import { openWebhookDeliveries } from './deliveries-collection.ts';
import { deliveryMetrics } from './delivery-metrics.ts';
import { DeliveryQueue } from './delivery-queue.ts';
import { pollDueDeliveries } from './due-deliveries.ts';
import { openWebhookEndpoints } from './endpoints-collection.ts';
import { createDeliveryRecorder } from './record-deliveries.ts';
import { webhookPaths } from './contract.ts';
import { webhookRoutes } from './routes.ts';

/** Deliveries waiting in memory per worker; past it the poller finds them in the store. */
const MAX_QUEUED = 10_000;

/** The webhook API: endpoints and their delivery logs, on the catalog store the worker reads. */
export const webhooksApi: ServiceFactory = async ({ config, catalogStore }) => {
  const store = await catalogStore();
  const routes = webhookRoutes({
    endpoints: await openWebhookEndpoints(store),
    deliveries: await openWebhookDeliveries(store),
    policy: { allowedHosts: config.fetch.allowedHosts },
  });
  return {
    name: 'webhooks-api',
    routes,
    contract: webhookPaths,
    readiness: { 'catalog-store': () => store.checkHealth() },
    stop: () => Promise.resolve(),
  };
};

/**
 * The webhook worker: its own consumer group on the outcome topic records one
 * delivery per (outcome, endpoint) in the catalog store, then commits; the
 * deliveries are sent beside the consumer, a bounded number at a time, and
 * retried by a poller of due deliveries. A slow receiver holds up only its own deliveries.
 */
export const webhookDelivery: ServiceFactory = async ({ config, bus, log, metrics, catalogStore }) => {
  const store = await catalogStore();
  const endpoints = await openWebhookEndpoints(store);
  const deliveries = await openWebhookDeliveries(store);
  const workerLog = log.child({ stage: 'webhooks' });
  const attempt = createDeliveryAttempt({
    endpoints,
    deliveries,
    settings: config.webhooks,
    policy: { allowedHosts: config.fetch.allowedHosts },
    metrics: deliveryMetrics(metrics),
    log: workerLog,
    now: Date.now,
  });
  const queue = new DeliveryQueue(attempt, config.webhooks.concurrency, MAX_QUEUED, workerLog);
  const record = createDeliveryRecorder(endpoints, deliveries, Date.now, config.webhooks.timeoutMs);
  const subscription = await runMessageConsumer({
    bus,
    log: workerLog,
    group: 'progimage-webhooks',
    topics: [TOPICS.outcomes],
    retry: DEFAULT_RETRY_POLICY,
    metrics,
    handle: async (message) => {
      for (const task of await record(message.value)) queue.add(task);
      return [];
    },
  });
  const poller = pollDueDeliveries(
    deliveries,
    (id) => {
      queue.add({ id });
    },
    config.webhooks.pollMs,
    workerLog,
  );
  return {
    name: 'webhooks',
    readiness: { 'catalog-store': () => store.checkHealth() },
    stop: async () => {
      poller.stop();
      await subscription.stop();
      await queue.stop();
    },
  };
};
