import { randomUUID } from 'node:crypto';
import test, { type ExecutionContext } from 'ava';
import { Registry } from 'prom-client';
import { createOutcome, encodeOutcome, OUTCOME_TYPES } from '../../lib/events/outcomes.ts';
import { createLogger } from '../../lib/logger.ts';
import { createDeliveryAttempt } from '../../webhooks/attempt-delivery.ts';
import { openWebhookDeliveries, type WebhookDelivery } from '../../webhooks/deliveries-collection.ts';
import { deliveryMetrics } from '../../webhooks/delivery-metrics.ts';
import { createDeliveryRecorder } from '../../webhooks/record-deliveries.ts';
import { newWebhookEndpoint, openWebhookEndpoints } from '../../webhooks/endpoints-collection.ts';
import { countingCalls, temporaryCatalogStore } from '../support/counted-calls.ts';
import { startWebhookReceiver } from '../support/webhook-receiver.ts';

async function setUp(t: ExecutionContext, status: number) {
  const store = await temporaryCatalogStore(t);
  const receiver = await startWebhookReceiver(() => status);
  t.teardown(() => receiver.close());
  const endpoints = countingCalls(await openWebhookEndpoints(store));
  const deliveries = countingCalls(await openWebhookDeliveries(store));
  const { endpoint } = newWebhookEndpoint('acme', receiver.url, ['image.ready', 'image.deleted'], new Date());
  await endpoints.collection.save(endpoint, null);
  const now = new Date().toISOString();
  const delivery: WebhookDelivery = {
    id: randomUUID(),
    endpointId: endpoint.id,
    tenant: 'acme',
    eventId: randomUUID(),
    type: 'image.ready',
    body: '{"type":"image.ready"}',
    state: 'pending',
    createdAt: now,
    attempts: 0,
    failuresInRow: 0,
    nextAttemptAt: now,
    lastAttemptAt: null,
    lastStatus: null,
    lastError: null,
    deliveredAt: null,
  };
  await deliveries.collection.save(delivery, null);
  endpoints.calls.save = 0;
  deliveries.calls.save = 0;
  const settings = {
    timeoutMs: 2000,
    concurrency: 1,
    retryScheduleMs: [60_000],
    disableAfterMs: 86_400_000,
    disableAfterFailures: null,
    pollMs: 1000,
  };
  const attempt = createDeliveryAttempt({
    endpoints: endpoints.collection,
    deliveries: deliveries.collection,
    settings,
    policy: { allowedHosts: [receiver.host] },
    metrics: deliveryMetrics(new Registry()),
    log: createLogger('test', 'silent'),
    now: Date.now,
  });
  const record = createDeliveryRecorder(endpoints.collection, deliveries.collection, Date.now, settings.timeoutMs);
  return { attempt, record, receiver, endpoints, deliveries, delivery, endpoint };
}

test('a delivery that succeeds reads its delivery and endpoint once, saves the delivery twice, and leaves an endpoint without failures alone', async (t) => {
  const { attempt, receiver, endpoints, deliveries, delivery } = await setUp(t, 204);
  await attempt({ id: delivery.id });

  t.deepEqual(deliveries.calls, { get: 1, save: 2 }, 'the claim reads it; the claim and the result save it');
  t.deepEqual(endpoints.calls, { get: 1, save: 0 });
  t.is(receiver.received.length, 1);
  t.is((await deliveries.collection.get(delivery.id))?.document.state, 'delivered');
});

test('a delivery that fails is counted on its endpoint, on the version the claim read', async (t) => {
  const { attempt, endpoints, deliveries, delivery, endpoint } = await setUp(t, 500);
  await attempt({ id: delivery.id });

  t.deepEqual(endpoints.calls, { get: 1, save: 1 });
  const failed = await deliveries.collection.get(delivery.id);
  t.is(failed?.document.state, 'pending');
  t.is(failed?.document.lastStatus, 500);
  t.is((await endpoints.collection.get(endpoint.id))?.document.consecutiveFailures, 1);
});

const deletedOutcome = () =>
  Buffer.from(
    encodeOutcome(
      createOutcome(
        OUTCOME_TYPES.imageDeleted,
        { imageId: randomUUID(), tenant: 'acme' },
        { deletedAt: new Date().toISOString() },
        [randomUUID()],
        new Date().toISOString(),
      ),
    ),
  );

test('a delivery is recorded claimed for its first attempt, which is made without reading anything back', async (t) => {
  const { attempt, record, receiver, endpoints, deliveries } = await setUp(t, 204);
  const [task, ...others] = await record(deletedOutcome());
  if (task === undefined) throw new Error('one delivery was recorded');
  t.is(others.length, 0);
  t.like(task.claimed?.delivery.document, { state: 'pending', attempts: 1 });
  endpoints.calls.get = 0;
  deliveries.calls.get = 0;
  deliveries.calls.save = 0;

  await attempt(task);

  t.deepEqual(deliveries.calls, { get: 0, save: 1 }, 'only its result is saved');
  t.deepEqual(endpoints.calls, { get: 0, save: 0 });
  t.is(receiver.received.length, 1);
  t.like((await deliveries.collection.get(task.id))?.document, { state: 'delivered', attempts: 1 });
});

test('a recorded delivery whose claim lapses before its attempt can start is left to the poller, and not sent', async (t) => {
  const { attempt, record, receiver, deliveries } = await setUp(t, 204);
  const [task] = await record(deletedOutcome());
  const claimed = task?.claimed;
  if (task === undefined || claimed === undefined) throw new Error('one delivery was recorded, claimed');
  const lapsing = { ...claimed.delivery.document, nextAttemptAt: new Date(Date.now() + 500).toISOString() };
  const version = await deliveries.collection.save(lapsing, claimed.delivery.version);
  if (version === null) throw new Error('saved');

  await attempt({ ...task, claimed: { ...claimed, delivery: { document: lapsing, version } } });

  t.is(receiver.received.length, 0);
  t.like((await deliveries.collection.get(task.id))?.document, { state: 'pending', attempts: 1 });
});
