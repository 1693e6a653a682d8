import type { WebhookDelivery } from './deliveries-collection.ts';
import type { WebhookEndpoint } from './endpoints-collection.ts';
import type { DeliveryView, WebhookView } from './contract.ts';

/** An endpoint as the API shows it: everything but its secrets, of which only when each was made and retires. */
export function endpointView(endpoint: WebhookEndpoint): WebhookView {
  const { id, url, events, enabled, disabledReason, disabledAt, createdAt, consecutiveFailures, failingSince, secrets } = endpoint;
  return {
    id,
    url,
    events,
    enabled,
    disabledReason,
    disabledAt,
    createdAt,
    consecutiveFailures,
    failingSince,
    secrets: secrets.map(({ createdAt: madeAt, retiresAt }) => ({ createdAt: madeAt, retiresAt })),
    links: { self: `/v1/webhooks/${id}`, deliveries: `/v1/webhooks/${id}/deliveries` },
  };
}

/** A delivery as the log shows it: what was sent, how often, and what came back (the body is the outcome its eventId names). */
export function deliveryView(delivery: WebhookDelivery): DeliveryView {
  const { id, endpointId, eventId, type, state, createdAt, attempts, nextAttemptAt, lastAttemptAt, lastStatus, lastError, deliveredAt } =
    delivery;
  return {
    id,
    eventId,
    type,
    state,
    createdAt,
    attempts,
    lastAttemptAt,
    lastStatus,
    lastError,
    nextAttemptAt,
    deliveredAt,
    links: { redeliver: `/v1/webhooks/${endpointId}/deliveries/${id}/redeliver` },
  };
}
