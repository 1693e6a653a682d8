import { z } from 'zod';
import { ingestCredentialRecordSchema, type IngestCredentialRecord } from '../lib/auth/ingest-credentials.ts';
import { apiKeyRecordSchema, tenantRecordSchema, type ApiKeyRecord, type TenantRecord } from '../lib/auth/tenants.ts';

/*
 * What the admin API answers, as the routes send it and the admin command
 * reads it back. Secrets never appear: of a signing secret only when it was
 * made and when it retires, of an API key only its sha256, of an ingest
 * credential only its key id, except the new key or secret itself in the one
 * answer that creates it.
 */

export const TENANTS_PATH = '/v1/admin/tenants';
export const KEYS_PATH = '/v1/admin/keys';
export const INGEST_CREDENTIALS_PATH = '/v1/admin/ingest-credentials';

const { id: tenantName, signingSecrets, ...settings } = tenantRecordSchema.shape;

export const tenantViewSchema = z.object({
  name: tenantName,
  ...settings,
  signingSecrets: z.array(signingSecrets.element.omit({ secret: true })),
  links: z.object({ self: z.string(), keys: z.string() }),
});
export type TenantView = z.infer<typeof tenantViewSchema>;

const { id: sha256, ...keyFields } = apiKeyRecordSchema.shape;

export const apiKeyViewSchema = z.object({ sha256, ...keyFields });
export type ApiKeyView = z.infer<typeof apiKeyViewSchema>;

/** Whether `value` has the form of a key's sha256 (a key itself starts with pik_). */
export const isKeyHash = (value: string): boolean => sha256.safeParse(value).success;

/** A key as it is created: the key itself is in this answer only. */
export const createdKeySchema = apiKeyViewSchema.extend({ key: z.string() });
export type CreatedKey = z.infer<typeof createdKeySchema>;

export const createdTenantSchema = z.object({ tenant: tenantViewSchema, key: createdKeySchema });
export type CreatedTenant = z.infer<typeof createdTenantSchema>;

export const tenantPageSchema = z.object({ tenants: z.array(tenantViewSchema), next: z.string().nullable() });
export type TenantPage = z.infer<typeof tenantPageSchema>;

export const keyPageSchema = z.object({ keys: z.array(apiKeyViewSchema), next: z.string().nullable() });
export type KeyPage = z.infer<typeof keyPageSchema>;

/** A tenant after a rotation: its new signing secret is in this answer only, for clients that sign URLs themselves. */
export const rotatedTenantSchema = tenantViewSchema.extend({ signingSecret: signingSecrets.element.shape.secret });
export type RotatedTenant = z.infer<typeof rotatedTenantSchema>;

export const tenantPath = (name: string): string => `${TENANTS_PATH}/${name}`;

export function tenantView({ id, signingSecrets: secrets, ...rest }: TenantRecord): TenantView {
  return {
    name: id,
    ...rest,
    signingSecrets: secrets.map(({ createdAt, retiresAt }) => ({ createdAt, retiresAt })),
    links: { self: tenantPath(id), keys: `${tenantPath(id)}/keys` },
  };
}

export const apiKeyView = ({ id, ...rest }: ApiKeyRecord): ApiKeyView => ({ sha256: id, ...rest });

const { id: credentialKeyId, secret: credentialSecret, ...credentialFields } = ingestCredentialRecordSchema.shape;

/** An ingest credential without its secret. */
export const ingestCredentialViewSchema = z.object({ keyId: credentialKeyId, ...credentialFields });
export type IngestCredentialView = z.infer<typeof ingestCredentialViewSchema>;

/** A credential as it is created: the secret is in this answer only. */
export const createdIngestCredentialSchema = ingestCredentialViewSchema.extend({ secret: credentialSecret });
export type CreatedIngestCredential = z.infer<typeof createdIngestCredentialSchema>;

export const ingestCredentialPageSchema = z.object({ credentials: z.array(ingestCredentialViewSchema), next: z.string().nullable() });
export type IngestCredentialPage = z.infer<typeof ingestCredentialPageSchema>;

export const ingestCredentialView = ({ id, secret, ...rest }: IngestCredentialRecord): IngestCredentialView => ({ keyId: id, ...rest });
