import { ProgImageError } from '../lib/errors.ts';
import { outcomeSchema, type Outcome } from '../lib/events/outcomes.ts';
import { deliveryId, type WebhookDeliveries } from './deliveries-collection.ts';
import { MAX_ENDPOINTS_PER_TENANT, type WebhookEndpoints } from './endpoints-collection.ts';

/** Records the deliveries an outcome message calls for; resolves to their ids. */
export type DeliveryRecorder = (value: Buffer) => Promise<readonly string[]>;

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
 * tenant goes to nobody.
 */
export function createDeliveryRecorder(endpoints: WebhookEndpoints, deliveries: WebhookDeliveries, now: () => number): DeliveryRecorder {
  return async (value) => {
    const body = value.toString('utf8');
    const outcome = readOutcome(body);
    if (outcome.tenant === null) return [];
    const subscribed = await endpoints.find({ where: { tenant: outcome.tenant, enabled: true }, limit: MAX_ENDPOINTS_PER_TENANT });
    const ids: string[] = [];
    for (const endpoint of subscribed.filter(({ events }) => events.includes(outcome.type))) {
      const id = deliveryId(endpoint.id, outcome.eventId);
      const createdAt = new Date(now()).toISOString();
      // An insert: it does nothing (resolves null) when the delivery is recorded already.
      await deliveries.save(
        {
          id,
          endpointId: endpoint.id,
          tenant: outcome.tenant,
          eventId: outcome.eventId,
          type: outcome.type,
          body,
          state: 'pending',
          createdAt,
          attempts: 0,
          failuresInRow: 0,
          nextAttemptAt: createdAt,
          lastAttemptAt: null,
          lastStatus: null,
          lastError: null,
          deliveredAt: null,
        },
        null,
      );
      ids.push(id);
    }
    return ids;
  };
}
