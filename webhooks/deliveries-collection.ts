import { z } from 'zod';
import { outcomeTypeSchema } from '../lib/events/outcomes.ts';
import { derivedId, tenantSchema } from '../lib/ids.ts';
import type { CatalogStore, DocumentCollection } from '../lib/ports/catalog-store.ts';
import { webhookIdSchema } from './endpoints-collection.ts';

/** pending: to be sent (now, or at nextAttemptAt); delivered: a 2xx came back; failed: given up, or its endpoint was disabled. */
export const deliveryStateSchema = z.enum(['pending', 'delivered', 'failed']);
export type DeliveryState = z.infer<typeof deliveryStateSchema>;

/**
 * One outcome to one endpoint, and what became of it: the delivery log. Its
 * id is the `webhook-id` of every attempt, the same on every retry and
 * redelivery. The body is kept as first sent, so every attempt signs the same bytes.
 */
export const webhookDeliverySchema = z.object({
  id: z.uuid(),
  endpointId: webhookIdSchema,
  tenant: tenantSchema,
  eventId: z.uuid(),
  type: outcomeTypeSchema,
  /** The outcome as published on progimage.outcomes.v1: the body of every attempt. */
  body: z.string(),
  state: deliveryStateSchema,
  createdAt: z.iso.datetime(),
  /** Attempts made in all. */
  attempts: z.number().int().nonnegative(),
  /** Attempts failed since it was (re)queued: where it is in the retry schedule. */
  failuresInRow: z.number().int().nonnegative(),
  /** When it is due (pending); while an attempt is under way, when that attempt counts as lost. Null once delivered or failed. */
  nextAttemptAt: z.iso.datetime().nullable(),
  lastAttemptAt: z.iso.datetime().nullable(),
  /** The HTTP status of the last attempt; null when none came (timed out, unreachable, refused). */
  lastStatus: z.number().int().nullable(),
  /** Why the last attempt failed; null after a success. */
  lastError: z.string().nullable(),
  deliveredAt: z.iso.datetime().nullable(),
});
export type WebhookDelivery = z.infer<typeof webhookDeliverySchema>;
export type WebhookDeliveries = DocumentCollection<WebhookDelivery>;

export const openWebhookDeliveries = (store: CatalogStore): Promise<WebhookDeliveries> =>
  store.collection({
    name: 'webhook_deliveries',
    schema: webhookDeliverySchema,
    indexes: [
      ['endpointId', 'state'],
      ['state', 'nextAttemptAt'],
    ],
  });

/** One outcome to one endpoint is one delivery, however often the outcome is consumed. */
export const deliveryId = (endpointId: string, eventId: string): string => derivedId('webhook-delivery', endpointId, eventId);
