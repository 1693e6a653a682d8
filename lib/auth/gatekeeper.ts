import type { Tenant } from '../ids.ts';
import { ForbiddenError, RateLimitedError, UnauthenticatedError } from '../errors.ts';
import { presentedCredentials, type Credentials, type PresentedRequest } from './credentials.ts';
import { apiKeyHash } from './keys.ts';
import { RateLimiter } from './rate-limiter.ts';
import { signatureMatches } from './signatures.ts';
import { activeSecrets, type TenantCollections, type TenantRecord } from './tenants.ts';
import { isSignablePath } from '@progimage/transform-language';

/** A request let in: the tenant it acts for, its URL without any signature parameters, and until when a signed one is valid. */
export interface Admitted {
  readonly tenant: TenantRecord;
  readonly url: string;
  /** The signed URL's expiry in Unix seconds; null for a request with an API key. */
  readonly signatureExpires: number | null;
}

const signatureExpiry = (credentials: Credentials): number | null =>
  credentials.kind === 'signature' ? Number(credentials.expires) : null;

interface Remembered<T> {
  readonly value: T;
  readonly until: number;
}

type SignatureCredentials = Extract<Credentials, { kind: 'signature' }>;

/** Past this many remembered keys or tenants the memory starts over (unknown keys sent in a flood are remembered too). */
const MAX_REMEMBERED = 10_000;
/** Only GET and HEAD of image bytes (a name with an extension under /v1/images/) can be signed. */
const IMAGE_BYTES_PATH = /^\/v1\/images\/[^?]*\.[a-z0-9]+(\?|$)/;

const unauthenticated = (message: string): UnauthenticatedError => new UnauthenticatedError('unauthenticated', message, 'progimage');
const signatureInvalid = (): ForbiddenError => new ForbiddenError('signature_invalid', 'the URL signature does not match this URL');

/**
 * Decides who a request acts for: an API key (Authorization: Bearer) or a
 * signed URL, then the tenant's rules (signed GETs only, request rate).
 * Keys and tenants are remembered for `cacheMs`, so a revoked key stops
 * working within that time, and a hot path can be decided without I/O.
 */
export class Gatekeeper {
  readonly #keys = new Map<string, Remembered<Tenant | null>>();
  readonly #tenants = new Map<Tenant, Remembered<TenantRecord | null>>();
  readonly #limiter: RateLimiter;

  constructor(
    private readonly collections: TenantCollections,
    private readonly cacheMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.#limiter = new RateLimiter();
  }

  /** Lets the request in, or throws the error that says why not (UnauthenticatedError, ForbiddenError, RateLimitedError). */
  async admit(request: PresentedRequest): Promise<Admitted> {
    const { credentials, url } = presentedCredentials(request);
    const tenant = await this.#tenantOf(credentials, request);
    this.#checkRules(tenant, credentials, request);
    return { tenant, url, signatureExpires: signatureExpiry(credentials) };
  }

  /**
   * The same decision from memory alone, for a request answered before the
   * framework: undefined when it cannot be made without I/O, or is not a
   * plain yes (then `admit` makes it, and gives the reason).
   */
  admitFromMemory(request: PresentedRequest): Admitted | undefined {
    const { credentials, url } = presentedCredentials(request);
    let tenant: TenantRecord | null | undefined;
    if (credentials.kind === 'key') {
      const owner = this.#recalled(this.#keys, apiKeyHash(credentials.key));
      tenant = owner === undefined || owner === null ? undefined : this.#recalled(this.#tenants, owner);
    } else if (credentials.kind === 'signature') {
      tenant = this.#recalled(this.#tenants, credentials.tenant);
      if (tenant !== undefined && tenant !== null && this.#verifySignature(tenant, credentials, request.method) !== 'valid')
        return undefined;
    }
    if (tenant === undefined || tenant === null) return undefined;
    try {
      this.#checkRules(tenant, credentials, request);
    } catch {
      return undefined;
    }
    return { tenant, url, signatureExpires: signatureExpiry(credentials) };
  }

  async #tenantOf(credentials: Credentials, request: PresentedRequest): Promise<TenantRecord> {
    switch (credentials.kind) {
      case 'none':
        throw unauthenticated('an API key is required: send "Authorization: Bearer <API key>", or use a signed URL');
      case 'malformed':
        throw unauthenticated(credentials.reason);
      case 'key': {
        const owner = await this.#keyOwner(apiKeyHash(credentials.key));
        const tenant = owner === null ? null : await this.#tenant(owner);
        if (tenant === null) throw unauthenticated('the API key is not valid (unknown or revoked)');
        return tenant;
      }
      case 'signature': {
        const tenant = /^[a-z0-9-]{1,63}$/.test(credentials.tenant) ? await this.#tenant(credentials.tenant) : null;
        if (tenant === null) throw signatureInvalid();
        const verdict = this.#verifySignature(tenant, credentials, request.method);
        if (verdict === 'expired')
          throw new ForbiddenError('signature_expired', 'the signed URL has expired', { expires: Number(credentials.expires) });
        if (verdict === 'invalid') throw signatureInvalid();
        return tenant;
      }
    }
  }

  /**
   * The expiry is checked first: a URL past it is expired whether or not its signature matches (which tells nothing of the secret).
   * Only a GET or HEAD of a signable path, exactly as received, is let in.
   */
  #verifySignature(tenant: TenantRecord, credentials: SignatureCredentials, method: string): 'valid' | 'expired' | 'invalid' {
    if (!/^\d{1,12}$/.test(credentials.expires)) return 'invalid';
    if (Number(credentials.expires) * 1000 <= this.now()) return 'expired';
    if ((method !== 'GET' && method !== 'HEAD') || !isSignablePath(credentials.path)) return 'invalid';
    return signatureMatches(activeSecrets(tenant, this.now()), credentials.path, credentials.parameters, credentials.signature)
      ? 'valid'
      : 'invalid';
  }

  #checkRules(tenant: TenantRecord, credentials: Credentials, request: PresentedRequest): void {
    if (
      tenant.signedGetsOnly &&
      credentials.kind === 'key' &&
      (request.method === 'GET' || request.method === 'HEAD') &&
      IMAGE_BYTES_PATH.test(request.url)
    ) {
      throw new ForbiddenError('signature_required', `tenant ${tenant.id} serves image bytes through signed URLs only`);
    }
    if (tenant.requestsPerSecond !== null) {
      const waitSeconds = this.#limiter.take(tenant.id, tenant.requestsPerSecond);
      if (waitSeconds > 0) {
        throw new RateLimitedError(
          `more than ${tenant.requestsPerSecond} requests a second`,
          { requestsPerSecond: tenant.requestsPerSecond },
          Math.ceil(waitSeconds),
        );
      }
    }
  }

  async #keyOwner(hash: string): Promise<Tenant | null> {
    const remembered = this.#recalled(this.#keys, hash);
    if (remembered !== undefined) return remembered;
    const found = await this.collections.apiKeys.get(hash);
    const owner = found?.document.revokedAt === null ? found.document.tenant : null;
    this.#remember(this.#keys, hash, owner);
    return owner;
  }

  async #tenant(id: Tenant): Promise<TenantRecord | null> {
    const remembered = this.#recalled(this.#tenants, id);
    if (remembered !== undefined) return remembered;
    const tenant = (await this.collections.tenants.get(id))?.document ?? null;
    this.#remember(this.#tenants, id, tenant);
    return tenant;
  }

  #recalled<T>(memory: Map<string, Remembered<T>>, key: string): T | undefined {
    const entry = memory.get(key);
    return entry === undefined || entry.until <= this.now() ? undefined : entry.value;
  }

  #remember<T>(memory: Map<string, Remembered<T>>, key: string, value: T): void {
    if (memory.size >= MAX_REMEMBERED) memory.clear();
    memory.set(key, { value, until: this.now() + this.cacheMs });
  }
}
