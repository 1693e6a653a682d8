import { randomUUID } from 'node:crypto';
import { derivedId, type ImageId, type Tenant } from '../lib/ids.ts';

/**
 * The id of the `index`-th image of a request. With an Idempotency-Key the id
 * is derived from (tenant, key, index), so a retried request names the same
 * images and stores nothing twice; without one it is random.
 */
export function imageIdFor(tenant: Tenant, idempotencyKey: string | null, index: number): ImageId {
  return idempotencyKey === null ? randomUUID() : derivedId(tenant, idempotencyKey, String(index));
}
