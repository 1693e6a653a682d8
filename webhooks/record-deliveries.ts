import { ProgImageError } from '../lib/errors.ts';
import { outcomeSchema, type Outcome } from '../lib/events/outcomes.ts';
import { deliveryId, type WebhookDeliveries, type WebhookDelivery } from './deliveries-collection.ts';
import { leaseEnd, type DeliveryTask } from './delivery-task.ts';
import { MAX_ENDPOINTS_PER_TENANT, type WebhookEndpoints } from './endpoints-collection.ts';

/** Records the deliveries an outcome message calls for; resolves to them, each claimed for its first attempt when this recorded it. */
export type DeliveryRecorder = (value: Buffer) => Promise<readonly DeliveryTask[]>;

/** The outcome a message holds; a message that holds none can never be delivered (it goes to the dead-letter topic). */
function readOutcome(body: string): Outcome {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    throw new ProgImageError('not an outcome event: not JSON', { retriable: false });
  }
  const parsed = outcomeSchema.safeParse(value);
  if (!parsed.success) throw new ProgImageError(`not an outcome event: ${parsed.error.message}`, { retriable: false });
  return parsed.data;
}

/**
 * One delivery per enabled endpoint of the outcome's tenant that wants its
 * type, stored before the message is committed: a crash after this loses
 * nothing, and a repeat of the message records nothing twice (the delivery
 * id derives from the endpoint and the event). A rejection that proved no
 * tenant goes to nobody. Each is stored claimed for its first attempt (its
 * lease from `attemptTimeoutMs`), which this worker makes without reading it
 * back; if the worker dies first, the lease lapses and the poller offers it.
 */
export function createDeliveryRecorder(
  endpoints: WebhookEndpoints,
  deliveries: WebhookDeliveries,
  now: () => number,
  attemptTimeoutMs: number,
): DeliveryRecorder {
  return async (value) => {
    const body = value.toString('utf8');
    const outcome = readOutcome(body);
    if (outcome.tenant === null) return [];
    const subscribed = await endpoints.find({ where: { tenant: outcome.tenant, enabled: true }, limit: MAX_ENDPOINTS_PER_TENANT });
    const tasks: DeliveryTask[] = [];
    for (const endpoint of subscribed.filter(({ events }) => events.includes(outcome.type))) {
      const id = deliveryId(endpoint.id, outcome.eventId);
      const at = now();
      const delivery: WebhookDelivery = {
        id,
        endpointId: endpoint.id,
        tenant: outcome.tenant,
        eventId: outcome.eventId,
        type: outcome.type,
        body,
        state: 'pending',
        createdAt: new Date(at).toISOString(),
        attempts: 1,
        failuresInRow: 0,
        nextAttemptAt: new Date(leaseEnd(at, attemptTimeoutMs)).toISOString(),
        lastAttemptAt: new Date(at).toISOString(),
        lastStatus: null,
        lastError: null,
        deliveredAt: null,
      };
      // An insert: it does nothing (resolves null) when the delivery is recorded already; that one is attempted when due.
      const version = await deliveries.save(delivery, null);
      tasks.push(
        version === null ? { id } : { id, claimed: { delivery: { document: delivery, version }, endpoint, endpointVersion: null } },
      );
    }
    return tasks;
  };
}
