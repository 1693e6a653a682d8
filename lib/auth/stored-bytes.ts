import { LRUCache } from 'lru-cache';
import { z } from 'zod';
import { ForbiddenError } from '../errors.ts';
import { tenantSchema, type Tenant } from '../ids.ts';
import type { CatalogStore, DocumentCollection, Versioned } from '../ports/catalog-store.ts';
import { updateVersioned } from '../update-document.ts';
import type { TenantRecord } from './tenants.ts';

const usageSchema = z.object({ id: tenantSchema, storedBytes: z.number().int().min(0) });
type Usage = z.infer<typeof usageSchema>;
export type UsageCollection = DocumentCollection<Usage>;

/** Bytes of originals each tenant keeps stored: counted by the catalog as it records uploads and deletions. */
export const openUsageCollection = (store: CatalogStore): Promise<UsageCollection> =>
  store.collection({ name: 'tenant_usage', schema: usageSchema });

/** How many tenants' counts a process keeps the last saved version of. */
const KNOWN_TENANTS = 10_000;

/**
 * Adds to tenants' stored bytes. Each tenant's count is saved on the version
 * this process last saved of it, without reading it first; when another
 * writer (another process, a concurrent event) saved since, the
 * compare-and-set fails and the count is read again.
 */
export class StoredBytes {
  /** The tenants counted most lately; one counted again after it was dropped is read first. */
  readonly #known = new LRUCache<Tenant, Versioned<Usage>>({ max: KNOWN_TENANTS });

  constructor(private readonly usage: UsageCollection) {}

  async add(tenant: Tenant, delta: number): Promise<void> {
    const saved = await updateVersioned(
      this.usage,
      tenant,
      (current) => ({ id: tenant, storedBytes: Math.max(0, (current?.storedBytes ?? 0) + delta) }),
      this.#known.get(tenant),
    );
    if (saved !== null) this.#known.set(tenant, saved);
  }
}

/**
 * Refuses an upload of `bytes` that would take the tenant past its quota.
 * The count follows the catalog, so uploads still in flight are not in it
 * yet: a burst can pass the quota by what it had in flight.
 */
export async function assertWithinQuota(usage: UsageCollection, tenant: TenantRecord, bytes: number): Promise<void> {
  const quota = tenant.storedBytesQuota;
  if (quota === null) return;
  const stored = (await usage.get(tenant.id))?.document.storedBytes ?? 0;
  if (stored + bytes > quota) {
    throw new ForbiddenError('storage_quota_exceeded', `storing ${bytes} more bytes would pass the tenant's quota of ${quota}`, {
      quota,
      stored,
      requested: bytes,
    });
  }
}
