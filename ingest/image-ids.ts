import { createHash, randomUUID } from 'node:crypto';
import type { ImageId, Tenant } from '../lib/ids.ts';

/**
 * The id of the `index`-th image of a request. With an Idempotency-Key the id
 * is derived from (tenant, key, index), so a retried request names the same
 * images and stores nothing twice; without one it is random.
 */
export function imageIdFor(tenant: Tenant, idempotencyKey: string | null, index: number): ImageId {
  if (idempotencyKey === null) return randomUUID();
  const hash = createHash('sha256').update(`${tenant}\n${idempotencyKey}\n${index}`).digest();
  // Shape it as an RFC 9562 version-8 (custom) UUID so it passes the same validation as random ids.
  hash[6] = ((hash[6] ?? 0) & 0x0f) | 0x80;
  hash[8] = ((hash[8] ?? 0) & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
