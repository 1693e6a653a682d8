import { randomBytes, randomUUID } from 'node:crypto';
import { z } from 'zod';
import { outcomeTypeSchema, OUTCOME_TYPES, type OutcomeType } from '../lib/events/outcomes.ts';
import { tenantSchema, type Tenant } from '../lib/ids.ts';
import type { CatalogStore, DocumentCollection } from '../lib/ports/catalog-store.ts';

/** Standard Webhooks secrets: "whsec_" and the base64 of the key (24 to 64 bytes). */
const SECRET_PREFIX = 'whsec_';
const SECRET_BYTES = 32;

export const webhookIdSchema = z.uuid({ error: 'expected a webhook id (a UUID)' });

const webhookSecretSchema = z.object({
  secret: z.string().startsWith(SECRET_PREFIX),
  createdAt: z.iso.datetime(),
  /** After this time deliveries are no longer signed with it (set when a newer one replaces it); null while current. */
  retiresAt: z.iso.datetime().nullable(),
});

/**
 * A tenant's webhook endpoint: where its outcomes of the chosen types are
 * delivered, signed with its secrets (the current one first). The secrets are
 * kept as given out: an HMAC can only be made with the secret itself.
 */
export const webhookEndpointSchema = z.object({
  id: webhookIdSchema,
  tenant: tenantSchema,
  url: z.string(),
  events: z.array(outcomeTypeSchema).min(1),
  secrets: z.array(webhookSecretSchema).min(1),
  createdAt: z.iso.datetime(),
  /** Deliveries are made only while it is enabled. */
  enabled: z.boolean(),
  /** Why and when it was disabled; null while enabled. */
  disabledReason: z.string().nullable(),
  disabledAt: z.iso.datetime().nullable(),
  /** Attempts failed since the last one that succeeded, and when the first of them was made (null: none failed). */
  consecutiveFailures: z.number().int().nonnegative(),
  failingSince: z.iso.datetime().nullable(),
});
export type WebhookEndpoint = z.infer<typeof webhookEndpointSchema>;
export type WebhookEndpoints = DocumentCollection<WebhookEndpoint>;

export const openWebhookEndpoints = (store: CatalogStore): Promise<WebhookEndpoints> =>
  store.collection({ name: 'webhook_endpoints', schema: webhookEndpointSchema, indexes: [['tenant', 'enabled']] });

/** Endpoints one tenant may register: enough for every consumer of an application, few enough to fan each outcome out to. */
export const MAX_ENDPOINTS_PER_TENANT = 20;

/** The outcomes an endpoint gets when its registration names none. */
export const ALL_EVENTS: readonly OutcomeType[] = Object.values(OUTCOME_TYPES);

/** An endpoint and the secret it was just given, which the caller shows once. */
export interface WithNewSecret {
  readonly endpoint: WebhookEndpoint;
  readonly secret: string;
}

const newSecret = (): string => `${SECRET_PREFIX}${randomBytes(SECRET_BYTES).toString('base64')}`;

/** A new, enabled endpoint with a new secret, to be stored. */
export function newWebhookEndpoint(tenant: Tenant, url: string, events: readonly OutcomeType[], now: Date): WithNewSecret {
  const secret = newSecret();
  const endpoint: WebhookEndpoint = {
    id: randomUUID(),
    tenant,
    url,
    events: [...new Set(events)],
    secrets: [{ secret, createdAt: now.toISOString(), retiresAt: null }],
    createdAt: now.toISOString(),
    enabled: true,
    disabledReason: null,
    disabledAt: null,
    consecutiveFailures: 0,
    failingSince: null,
  };
  return { endpoint, secret };
}

/** The endpoint with a new current secret; the others keep signing for `graceSeconds` (those retired already are dropped). */
export function withRotatedSecret(endpoint: WebhookEndpoint, graceSeconds: number, now: Date): WithNewSecret {
  const retiresAt = new Date(now.getTime() + graceSeconds * 1000).toISOString();
  const kept = endpoint.secrets
    .map((secret) => (secret.retiresAt === null ? { ...secret, retiresAt } : secret))
    .filter((secret) => secret.retiresAt !== null && Date.parse(secret.retiresAt) > now.getTime());
  const secret = newSecret();
  return { endpoint: { ...endpoint, secrets: [{ secret, createdAt: now.toISOString(), retiresAt: null }, ...kept] }, secret };
}

/** The secrets a delivery made at `now` is signed with: the current one and those not retired yet. */
export const signingSecrets = (endpoint: WebhookEndpoint, now: Date): string[] =>
  endpoint.secrets
    .filter((secret) => secret.retiresAt === null || Date.parse(secret.retiresAt) > now.getTime())
    .map((secret) => secret.secret);
