import { createIngestCredential, revokeIngestCredential, type IngestCredentials } from '../lib/auth/ingest-credentials.ts';
import { apiKeyHash } from '../lib/auth/keys.ts';
import { signedUrlFor, type SignedUrl, type SignedUrlRequest } from '../lib/auth/signed-urls.ts';
import {
  createApiKey,
  createTenant,
  currentSecret,
  revokeApiKey,
  rotateSigningSecret,
  UNLIMITED,
  type ApiKeyRecord,
  type TenantCollections,
  type TenantRecord,
  type TenantSettings,
} from '../lib/auth/tenants.ts';
import type { PipelineImages } from '../lib/backlog/pipeline-images.ts';
import { tenantBacklog, type TenantBacklog } from '../lib/backlog/tenant-backlog.ts';
import { ProgImageError } from '../lib/errors.ts';
import { tenantSchema } from '../lib/ids.ts';
import type { DocumentCollection, FieldValue, Identified } from '../lib/ports/catalog-store.ts';
import { updateDocument } from '../lib/update-document.ts';
import type { NewIngestCredential, NewKey, NewTenant, PageQuery, Rotation, TenantSettingsChanges } from './requests.ts';
import {
  apiKeyView,
  ingestCredentialView,
  isKeyHash,
  tenantView,
  type ApiKeyView,
  type CreatedIngestCredential,
  type CreatedKey,
  type CreatedTenant,
  type IngestCredentialPage,
  type IngestCredentialView,
  type KeyPage,
  type RotatedTenant,
  type TenantPage,
  type TenantView,
} from './views.ts';

/**
 * Managing tenants, their API keys, signing secrets and ingest credentials: what the admin API
 * offers, and what the admin command does either through it or on the
 * catalog store directly. Requests are valid by then (see requests.ts).
 */
export interface TenantAdministration {
  tenants(page: PageQuery): Promise<TenantPage>;
  createTenant(request: NewTenant): Promise<CreatedTenant>;
  tenant(name: string): Promise<TenantView>;
  /** The tenant's images in the pipeline, by the stage they wait for, and its limit of them. */
  pipeline(name: string): Promise<TenantBacklog>;
  updateTenant(name: string, changes: TenantSettingsChanges): Promise<TenantView>;
  keys(tenant: string, page: PageQuery): Promise<KeyPage>;
  createKey(tenant: string, request: NewKey): Promise<CreatedKey>;
  /** Resolves to the key as it now is, revoked (revoking twice changes nothing). */
  revokeKey(sha256: string): Promise<ApiKeyView>;
  /** Resolves to the tenant with its new signing secret, the only time the secret leaves the store. */
  rotateSigningSecret(tenant: string, rotation: Rotation): Promise<RotatedTenant>;
  signUrl(tenant: string, request: SignedUrlRequest): Promise<SignedUrl>;
  ingestCredentials(tenant: string, page: PageQuery): Promise<IngestCredentialPage>;
  /** Resolves to the credential with its secret, the only time the secret leaves the store. */
  createIngestCredential(tenant: string, request: NewIngestCredential): Promise<CreatedIngestCredential>;
  /** Resolves to the credential as it now is, revoked (revoking twice changes nothing). */
  revokeIngestCredential(keyId: string): Promise<IngestCredentialView>;
}

export type AdministrationFailure = 'tenant_not_found' | 'tenant_exists' | 'key_not_found' | 'credential_not_found';

/** A request the state of the store refuses: no such tenant or key, or a tenant that exists already. */
export class AdministrationError extends ProgImageError {
  constructor(
    readonly code: AdministrationFailure,
    message: string,
  ) {
    super(message, { retriable: false });
  }
}

const noTenant = (name: string): AdministrationError => new AdministrationError('tenant_not_found', `no tenant ${name}`);
const noKey = (): AdministrationError => new AdministrationError('key_not_found', 'no such key');
const noCredential = (keyId: string): AdministrationError =>
  new AdministrationError('credential_not_found', `no ingest credential ${keyId}`);

/** One page of the documents matching `where`, in id order, and the cursor of the next page (null: this is the last). */
async function pageOf<T extends Identified>(
  collection: DocumentCollection<T>,
  { cursor, limit }: PageQuery,
  where: Readonly<Record<string, FieldValue>> = {},
): Promise<{ items: T[]; next: string | null }> {
  const found = await collection.find({ where, limit: limit + 1, ...(cursor === undefined ? {} : { after: cursor }) });
  return { items: found.slice(0, limit), next: found.length > limit ? (found[limit - 1]?.id ?? null) : null };
}

function changed(current: TenantSettings, changes: TenantSettingsChanges): TenantSettings {
  return {
    requestsPerSecond: changes.requestsPerSecond === undefined ? current.requestsPerSecond : changes.requestsPerSecond,
    storedBytesQuota: changes.storedBytesQuota === undefined ? current.storedBytesQuota : changes.storedBytesQuota,
    imagesInFlightLimit: changes.imagesInFlightLimit === undefined ? current.imagesInFlightLimit : changes.imagesInFlightLimit,
    signedGetsOnly: changes.signedGetsOnly ?? current.signedGetsOnly,
    defaultTtlSeconds: changes.defaultTtlSeconds === undefined ? current.defaultTtlSeconds : changes.defaultTtlSeconds,
    corsOrigins: changes.corsOrigins ?? current.corsOrigins,
  };
}

/** The administration on the catalog store the services read their tenants, keys and credentials from. */
export class StoredTenantAdministration implements TenantAdministration {
  constructor(
    private readonly collections: TenantCollections,
    private readonly credentials: IngestCredentials,
    private readonly images: PipelineImages,
  ) {}

  async tenants(query: PageQuery): Promise<TenantPage> {
    const { items, next } = await pageOf(this.collections.tenants, query);
    return { tenants: items.map(tenantView), next };
  }

  async createTenant({ name, ...settings }: NewTenant): Promise<CreatedTenant> {
    const created = await createTenant(this.collections, name, changed(UNLIMITED, settings));
    if (created === null) throw new AdministrationError('tenant_exists', `tenant ${name} already exists`);
    return { tenant: tenantView(created.tenant), key: await this.#createdKey(created.apiKey) };
  }

  async tenant(name: string): Promise<TenantView> {
    return tenantView(await this.#tenantRecord(name));
  }

  async pipeline(name: string): Promise<TenantBacklog> {
    return tenantBacklog(this.images, await this.#tenantRecord(name));
  }

  async updateTenant(name: string, changes: TenantSettingsChanges): Promise<TenantView> {
    const { id } = await this.#tenantRecord(name);
    const updated = await updateDocument(this.collections.tenants, id, (current) =>
      current === null ? null : { ...current, ...changed(current, changes) },
    );
    if (updated === null) throw noTenant(name);
    return tenantView(updated);
  }

  async keys(tenant: string, query: PageQuery): Promise<KeyPage> {
    const { id } = await this.#tenantRecord(tenant);
    const { items, next } = await pageOf(this.collections.apiKeys, query, { tenant: id });
    return { keys: items.map(apiKeyView), next };
  }

  async createKey(tenant: string, { label }: NewKey): Promise<CreatedKey> {
    const { id } = await this.#tenantRecord(tenant);
    return this.#createdKey(await createApiKey(this.collections, id, label));
  }

  async revokeKey(sha256: string): Promise<ApiKeyView> {
    if (!isKeyHash(sha256) || !(await revokeApiKey(this.collections, sha256))) throw noKey();
    return apiKeyView(await this.#keyRecord(sha256));
  }

  async rotateSigningSecret(tenant: string, { graceSeconds }: Rotation): Promise<RotatedTenant> {
    const { id } = await this.#tenantRecord(tenant);
    const rotated = await rotateSigningSecret(this.collections, id, graceSeconds);
    return { ...tenantView(rotated), signingSecret: currentSecret(rotated) };
  }

  async signUrl(tenant: string, request: SignedUrlRequest): Promise<SignedUrl> {
    return signedUrlFor(await this.#tenantRecord(tenant), request);
  }

  async ingestCredentials(tenant: string, query: PageQuery): Promise<IngestCredentialPage> {
    const { id } = await this.#tenantRecord(tenant);
    const { items, next } = await pageOf(this.credentials, query, { tenant: id });
    return { credentials: items.map(ingestCredentialView), next };
  }

  async createIngestCredential(tenant: string, { label }: NewIngestCredential): Promise<CreatedIngestCredential> {
    const { id } = await this.#tenantRecord(tenant);
    const created = await createIngestCredential(this.credentials, id, label);
    return { ...ingestCredentialView(created), secret: created.secret };
  }

  async revokeIngestCredential(keyId: string): Promise<IngestCredentialView> {
    const revoked = await revokeIngestCredential(this.credentials, keyId);
    if (revoked === null) throw noCredential(keyId);
    return ingestCredentialView(revoked);
  }

  async #tenantRecord(name: string): Promise<TenantRecord> {
    const found = tenantSchema.safeParse(name).success ? await this.collections.tenants.get(name) : null;
    if (found === null) throw noTenant(name);
    return found.document;
  }

  async #keyRecord(sha256: string): Promise<ApiKeyRecord> {
    const found = await this.collections.apiKeys.get(sha256);
    if (found === null) throw noKey();
    return found.document;
  }

  async #createdKey(key: string): Promise<CreatedKey> {
    return { ...apiKeyView(await this.#keyRecord(apiKeyHash(key))), key };
  }
}
