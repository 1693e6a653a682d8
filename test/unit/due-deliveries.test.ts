import { randomUUID } from 'node:crypto';
import test from 'ava';
import { createLogger } from '../../lib/logger.ts';
import { openWebhookDeliveries, type WebhookDelivery, type WebhookDeliveries } from '../../webhooks/deliveries-collection.ts';
import { pollDueDeliveries } from '../../webhooks/due-deliveries.ts';
import { temporaryCatalogStore } from '../support/counted-calls.ts';

const iso = (msFromNow: number): string => new Date(Date.now() + msFromNow).toISOString();

function delivery(state: WebhookDelivery['state'], nextAttemptAt: string | null): WebhookDelivery {
  return {
    id: randomUUID(),
    endpointId: randomUUID(),
    tenant: 'acme',
    eventId: randomUUID(),
    type: 'image.ready',
    body: '{}',
    state,
    createdAt: iso(-60_000),
    attempts: 1,
    failuresInRow: 1,
    nextAttemptAt,
    lastAttemptAt: null,
    lastStatus: null,
    lastError: null,
    deliveredAt: null,
  };
}

test('the poller offers the pending deliveries that are due, and reads no other: not those due later, nor the delivered or failed', async (t) => {
  const stored = await openWebhookDeliveries(await temporaryCatalogStore(t));

  const due = [delivery('pending', iso(-5_000)), delivery('pending', iso(-10))];
  const others = [
    delivery('pending', iso(3_600_000)),
    delivery('pending', iso(60_000)),
    delivery('delivered', null),
    delivery('failed', null),
    delivery('pending', null),
  ];
  for (const one of [...due, ...others]) await stored.save(one, null);

  const read: string[] = [];
  const deliveries: WebhookDeliveries = {
    ...stored,
    find: async (query) => {
      const found = await stored.find(query);
      read.push(...found.map((one) => one.id));
      return found;
    },
  };
  const offered: string[] = [];
  let looked: () => void = () => undefined;
  const firstLook = new Promise<void>((resolve) => {
    looked = resolve;
  });
  const poller = pollDueDeliveries(
    deliveries,
    (id) => {
      offered.push(id);
      if (offered.length === due.length) looked();
    },
    10,
    createLogger('test', 'silent'),
  );
  t.teardown(() => {
    poller.stop();
  });
  await firstLook;

  const ids = (list: readonly WebhookDelivery[]) => list.map((one) => one.id).sort();
  t.deepEqual([...new Set(offered)].sort(), ids(due));
  t.deepEqual([...new Set(read)].sort(), ids(due), 'only the due ones were read');
});
