import type { Versioned } from '../lib/ports/catalog-store.ts';
import type { WebhookDelivery } from './deliveries-collection.ts';
import type { WebhookEndpoint } from './endpoints-collection.ts';

/** An attempt that has not reported back this long after its deadline counts as lost (its process died), and the delivery is due again. */
const LEASE_MARGIN_MS = 5000;

/** When a claim made at `claimedAt` lapses: the attempt's deadline and a margin. Until then no other attempt takes the delivery. */
export const leaseEnd = (claimedAt: number, timeoutMs: number): number => claimedAt + timeoutMs + LEASE_MARGIN_MS;

/** A delivery claimed for its next attempt (saved with its lease), and its endpoint as the claim found it. */
export interface ClaimedDelivery {
  readonly delivery: Versioned<WebhookDelivery>;
  readonly endpoint: WebhookEndpoint;
  /** The endpoint's version as read; null when it came from a query, which gives none. */
  readonly endpointVersion: number | null;
}

/** A delivery to attempt: its id, and the claim made on it when it was recorded, if it was. */
export interface DeliveryTask {
  readonly id: string;
  readonly claimed?: ClaimedDelivery;
}
