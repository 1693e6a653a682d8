import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { tenantSchema, type Tenant } from '../ids.ts';
import type { CatalogStore, DocumentCollection } from '../ports/catalog-store.ts';

/** Key ids and secrets start with these, so that each is easy to recognise (and a leaked secret, for secret scanners). */
const KEY_ID_PREFIX = 'ing_';
const SECRET_PREFIX = 'ingsec_';

export const ingestKeyIdSchema = z.string().regex(/^ing_[A-Za-z0-9_-]{16}$/, 'expected an ingest key id (ing_…)');

/**
 * A credential an upstream system signs its ingest requests with, for one
 * tenant. The secret is kept as it was given out, as the URL signing secrets
 * are: an HMAC can only be checked with the secret itself.
 */
export const ingestCredentialRecordSchema = z.object({
  /** The key id, sent with every signed request. */
  id: ingestKeyIdSchema,
  tenant: tenantSchema,
  secret: z.string().startsWith(SECRET_PREFIX).min(40),
  label: z.string().max(200),
  createdAt: z.iso.datetime(),
  /** From then on its signatures are refused; null while it is in use. */
  revokedAt: z.iso.datetime().nullable(),
});
export type IngestCredentialRecord = z.infer<typeof ingestCredentialRecordSchema>;
export type IngestCredentials = DocumentCollection<IngestCredentialRecord>;

export const openIngestCredentials = (store: CatalogStore): Promise<IngestCredentials> =>
  store.collection({ name: 'ingest_credentials', schema: ingestCredentialRecordSchema, indexes: [['tenant']] });

/** A new credential for `tenant`: 96 random bits of key id, 256 of secret. The caller shows the secret once. */
export async function createIngestCredential(
  credentials: IngestCredentials,
  tenant: Tenant,
  label: string,
): Promise<IngestCredentialRecord> {
  const record: IngestCredentialRecord = {
    id: `${KEY_ID_PREFIX}${randomBytes(12).toString('base64url')}`,
    tenant,
    secret: `${SECRET_PREFIX}${randomBytes(32).toString('base64url')}`,
    label,
    createdAt: new Date().toISOString(),
    revokedAt: null,
  };
  if ((await credentials.save(record, null)) === null) throw new Error('a credential with that key id is already stored');
  return record;
}

/** Revokes the credential with this key id (at once: requests are checked against the store); null when there is none. */
export async function revokeIngestCredential(credentials: IngestCredentials, keyId: string): Promise<IngestCredentialRecord | null> {
  const found = await credentials.get(keyId);
  if (found === null) return null;
  if (found.document.revokedAt !== null) return found.document;
  const revoked = { ...found.document, revokedAt: new Date().toISOString() };
  if ((await credentials.save(revoked, found.version)) === null)
    throw new Error('the credential changed while it was being revoked; try again');
  return revoked;
}
