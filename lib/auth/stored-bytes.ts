import { z } from 'zod';
import { ForbiddenError } from '../errors.ts';
import { tenantSchema, type Tenant } from '../ids.ts';
import type { CatalogStore, DocumentCollection } from '../ports/catalog-store.ts';
import { updateDocument } from '../update-document.ts';
import type { TenantRecord } from './tenants.ts';

const usageSchema = z.object({ id: tenantSchema, storedBytes: z.number().int().min(0) });
type Usage = z.infer<typeof usageSchema>;
export type UsageCollection = DocumentCollection<Usage>;

/** Bytes of originals each tenant keeps stored: counted by the catalog as it records uploads and deletions. */
export const openUsageCollection = (store: CatalogStore): Promise<UsageCollection> =>
  store.collection({ name: 'tenant_usage', schema: usageSchema });

export async function addStoredBytes(usage: UsageCollection, tenant: Tenant, delta: number): Promise<void> {
  await updateDocument(usage, tenant, (current) => ({ id: tenant, storedBytes: Math.max(0, (current?.storedBytes ?? 0) + delta) }));
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
