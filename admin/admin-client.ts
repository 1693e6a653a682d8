import type { z } from 'zod';
import { signedUrlSchema, type SignedUrl, type SignedUrlRequest } from '../lib/auth/signed-urls.ts';
import { tenantBacklogSchema, type TenantBacklog } from '../lib/backlog/tenant-backlog.ts';
import { errorMessage } from '../lib/error-message.ts';
import type { NewIngestCredential, NewKey, NewTenant, PageQuery, Rotation, TenantSettingsChanges } from './requests.ts';
import type { TenantAdministration } from './tenant-administration.ts';
import {
  apiKeyViewSchema,
  createdIngestCredentialSchema,
  createdKeySchema,
  createdTenantSchema,
  INGEST_CREDENTIALS_PATH,
  ingestCredentialPageSchema,
  ingestCredentialViewSchema,
  keyPageSchema,
  KEYS_PATH,
  rotatedTenantSchema,
  tenantPageSchema,
  tenantPath,
  TENANTS_PATH,
  tenantViewSchema,
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

const TIMEOUT_MS = 30_000;

const pageParameters = ({ cursor, limit }: PageQuery): string =>
  new URLSearchParams({ limit: String(limit), ...(cursor === undefined ? {} : { cursor }) }).toString();

/** The server's message, the same the store's administration gives the admin command without --url. */
function refusal(status: number, payload: unknown): Error {
  const message = (payload as { error?: { message?: unknown } } | null)?.error?.message;
  return new Error(typeof message === 'string' ? message : `the admin API answered ${status}`);
}

/** The administration of a running ProgImage, through its admin API with the admin token. */
export class AdminApiClient implements TenantAdministration {
  constructor(
    private readonly baseUrl: URL,
    private readonly token: string,
  ) {}

  tenants(page: PageQuery): Promise<TenantPage> {
    return this.#call('GET', `${TENANTS_PATH}?${pageParameters(page)}`, tenantPageSchema);
  }

  createTenant(request: NewTenant): Promise<CreatedTenant> {
    return this.#call('POST', TENANTS_PATH, createdTenantSchema, request);
  }

  tenant(name: string): Promise<TenantView> {
    return this.#call('GET', tenantPath(encodeURIComponent(name)), tenantViewSchema);
  }

  pipeline(name: string): Promise<TenantBacklog> {
    return this.#call('GET', `${tenantPath(encodeURIComponent(name))}/pipeline`, tenantBacklogSchema);
  }

  updateTenant(name: string, changes: TenantSettingsChanges): Promise<TenantView> {
    return this.#call('PATCH', tenantPath(encodeURIComponent(name)), tenantViewSchema, changes);
  }

  keys(tenant: string, page: PageQuery): Promise<KeyPage> {
    return this.#call('GET', `${tenantPath(encodeURIComponent(tenant))}/keys?${pageParameters(page)}`, keyPageSchema);
  }

  createKey(tenant: string, request: NewKey): Promise<CreatedKey> {
    return this.#call('POST', `${tenantPath(encodeURIComponent(tenant))}/keys`, createdKeySchema, request);
  }

  revokeKey(sha256: string): Promise<ApiKeyView> {
    return this.#call('DELETE', `${KEYS_PATH}/${encodeURIComponent(sha256)}`, apiKeyViewSchema);
  }

  rotateSigningSecret(tenant: string, rotation: Rotation): Promise<RotatedTenant> {
    return this.#call('POST', `${tenantPath(encodeURIComponent(tenant))}/signing-secret`, rotatedTenantSchema, rotation);
  }

  signUrl(tenant: string, request: SignedUrlRequest): Promise<SignedUrl> {
    return this.#call('POST', `${tenantPath(encodeURIComponent(tenant))}/signed-urls`, signedUrlSchema, request);
  }

  ingestCredentials(tenant: string, page: PageQuery): Promise<IngestCredentialPage> {
    return this.#call(
      'GET',
      `${tenantPath(encodeURIComponent(tenant))}/ingest-credentials?${pageParameters(page)}`,
      ingestCredentialPageSchema,
    );
  }

  createIngestCredential(tenant: string, request: NewIngestCredential): Promise<CreatedIngestCredential> {
    return this.#call('POST', `${tenantPath(encodeURIComponent(tenant))}/ingest-credentials`, createdIngestCredentialSchema, request);
  }

  revokeIngestCredential(keyId: string): Promise<IngestCredentialView> {
    return this.#call('DELETE', `${INGEST_CREDENTIALS_PATH}/${encodeURIComponent(keyId)}`, ingestCredentialViewSchema);
  }

  async #call<T>(method: string, path: string, schema: z.ZodType<T>, body?: object): Promise<T> {
    const url = new URL(path, this.baseUrl);
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers: { authorization: `Bearer ${this.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? null : JSON.stringify(body),
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
    } catch (error) {
      throw new Error(`could not reach ${url.origin}: ${errorMessage(error)}`);
    }
    const payload: unknown = await response.json().catch(() => null);
    if (!response.ok) throw refusal(response.status, payload);
    const parsed = schema.safeParse(payload);
    if (!parsed.success) throw new Error(`${method} ${url.pathname} answered what the admin API does not: is ${url.origin} ProgImage?`);
    return parsed.data;
  }
}
