import { z } from 'zod';
import { MAX_TTL_SECONDS } from '../events/payloads.ts';
import { tenantSchema, type Tenant } from '../ids.ts';
import type { CatalogStore, DocumentCollection } from '../ports/catalog-store.ts';
import { webOriginSchema } from '../web-origin.ts';
import { apiKeyHash, newApiKey, newSigningSecret } from './keys.ts';

/** Origins one tenant may list: enough for every site of an application, few enough to check on each request. */
export const MAX_CORS_ORIGINS = 50;

const signingSecretSchema = z.object({
  secret: z.string().min(32),
  createdAt: z.iso.datetime(),
  /** After this time the secret no longer verifies (set when a newer one replaces it); null while current. */
  retiresAt: z.iso.datetime().nullable(),
});

export const tenantRecordSchema = z.object({
  id: tenantSchema,
  createdAt: z.iso.datetime(),
  /** Requests per second each service process accepts from this tenant; null: unlimited. */
  requestsPerSecond: z.number().positive().nullable(),
  /** Bytes of originals the tenant may keep stored; null: unlimited. */
  storedBytesQuota: z.number().int().positive().nullable(),
  /** Images the tenant may have in the pipeline (uploaded, not final yet); null: unlimited. Absent from tenants stored before it existed. */
  imagesInFlightLimit: z.number().int().positive().nullable().default(null),
  /** Image bytes are only served through signed URLs, even to a request with an API key. */
  signedGetsOnly: z.boolean(),
  /** How long the tenant's uploads that name no ttl live; null: the service's PROGIMAGE_DEFAULT_TTL_SECONDS. Absent from tenants stored before it existed. */
  defaultTtlSeconds: z.number().int().min(1).max(MAX_TTL_SECONDS).nullable().default(null),
  /** The web pages that may call the JSON API with this tenant's keys, besides PROGIMAGE_CORS_API_ORIGINS. Absent from tenants stored before it existed. */
  corsOrigins: z.array(webOriginSchema).max(MAX_CORS_ORIGINS).readonly().default([]),
  signingSecrets: z.array(signingSecretSchema).min(1),
});
export type TenantRecord = z.infer<typeof tenantRecordSchema>;

/** A key's sha256 in hex, as it is stored and looked up. */
export const KEY_HASH = /^[0-9a-f]{64}$/;

export const apiKeyRecordSchema = z.object({
  /** The key's sha256 (hex): the key itself is never stored. */
  id: z.string().regex(KEY_HASH),
  tenant: tenantSchema,
  label: z.string().max(200),
  createdAt: z.iso.datetime(),
  revokedAt: z.iso.datetime().nullable(),
});
export type ApiKeyRecord = z.infer<typeof apiKeyRecordSchema>;

export interface TenantCollections {
  readonly tenants: DocumentCollection<TenantRecord>;
  readonly apiKeys: DocumentCollection<ApiKeyRecord>;
}

export async function openTenantCollections(store: CatalogStore): Promise<TenantCollections> {
  return {
    tenants: await store.collection({ name: 'tenants', schema: tenantRecordSchema }),
    apiKeys: await store.collection({ name: 'api_keys', schema: apiKeyRecordSchema, indexes: [['tenant']] }),
  };
}

export interface TenantSettings {
  readonly requestsPerSecond: number | null;
  readonly storedBytesQuota: number | null;
  readonly imagesInFlightLimit: number | null;
  readonly signedGetsOnly: boolean;
  readonly defaultTtlSeconds: number | null;
  readonly corsOrigins: readonly string[];
}

export const UNLIMITED: TenantSettings = {
  requestsPerSecond: null,
  storedBytesQuota: null,
  imagesInFlightLimit: null,
  signedGetsOnly: false,
  defaultTtlSeconds: null,
  corsOrigins: [],
};

/** Stores a new API key for `tenant`; returns the key, the only time it exists outside the client. */
export async function createApiKey(collections: TenantCollections, tenant: Tenant, label: string, key = newApiKey()): Promise<string> {
  const record: ApiKeyRecord = { id: apiKeyHash(key), tenant, label, createdAt: new Date().toISOString(), revokedAt: null };
  if ((await collections.apiKeys.save(record, null)) === null) throw new Error('that API key is already stored');
  return key;
}

/**
 * Creates a tenant with one API key and a signing secret. Resolves to null
 * when the tenant exists (another process may have created it at the same
 * moment: the insert decides).
 */
export async function createTenant(
  collections: TenantCollections,
  id: Tenant,
  settings: TenantSettings,
  key?: string,
): Promise<{ readonly tenant: TenantRecord; readonly apiKey: string } | null> {
  const now = new Date().toISOString();
  const tenant: TenantRecord = {
    id,
    createdAt: now,
    ...settings,
    signingSecrets: [{ secret: newSigningSecret(), createdAt: now, retiresAt: null }],
  };
  if ((await collections.tenants.save(tenant, null)) === null) return null;
  return { tenant, apiKey: await createApiKey(collections, id, 'created with the tenant', key) };
}

/** Revokes the key whose sha256 this is; resolves false when there is no such key. */
export async function revokeApiKey(collections: TenantCollections, hash: string): Promise<boolean> {
  const found = await collections.apiKeys.get(hash);
  if (found === null) return false;
  if (found.document.revokedAt !== null) return true;
  const saved = await collections.apiKeys.save({ ...found.document, revokedAt: new Date().toISOString() }, found.version);
  if (saved === null) throw new Error('the key changed while it was being revoked; try again');
  return true;
}

/**
 * Adds a new signing secret; the current one keeps verifying for `graceSeconds`
 * (URLs already handed out stay valid that long), then stops.
 */
export async function rotateSigningSecret(collections: TenantCollections, id: Tenant, graceSeconds: number): Promise<TenantRecord> {
  const found = await collections.tenants.get(id);
  if (found === null) throw new Error(`no tenant ${id}`);
  const now = new Date();
  const retiresAt = new Date(now.getTime() + graceSeconds * 1000).toISOString();
  const kept = found.document.signingSecrets
    .filter((secret) => secret.retiresAt === null || Date.parse(secret.retiresAt) > now.getTime())
    .map((secret) => (secret.retiresAt === null ? { ...secret, retiresAt } : secret));
  const rotated: TenantRecord = {
    ...found.document,
    signingSecrets: [{ secret: newSigningSecret(), createdAt: now.toISOString(), retiresAt: null }, ...kept],
  };
  if ((await collections.tenants.save(rotated, found.version)) === null) throw new Error('the tenant changed while rotating; try again');
  return rotated;
}

/** The secrets that verify a signature at `now`: the current one and those still in their grace period. */
export const activeSecrets = (tenant: TenantRecord, now: number): string[] =>
  tenant.signingSecrets.filter((secret) => secret.retiresAt === null || Date.parse(secret.retiresAt) > now).map((secret) => secret.secret);

/** The secret new URLs are signed with. */
export function currentSecret(tenant: TenantRecord): string {
  const current = tenant.signingSecrets.find((secret) => secret.retiresAt === null);
  if (current === undefined) throw new Error(`tenant ${tenant.id} has no current signing secret`);
  return current.secret;
}
