import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { ImageId } from '@progimage/transform-language/schema';

/** Image ids (lowercase UUIDs, safe inside blob keys and URLs) are the transform language's: a mask or an overlay names one. */
export { imageIdSchema, type ImageId } from '@progimage/transform-language/schema';

export const tenantSchema = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'expected a tenant name: a-z, 0-9, "-"');
export type Tenant = z.infer<typeof tenantSchema>;

/** A client's name for one request, so that its retries are recognised (HTTP's Idempotency-Key, an ingest request's idempotencyKey). */
export const idempotencyKeySchema = z.string().regex(/^[\x21-\x7e]{1,255}$/, 'expected 1-255 visible ASCII characters');

/** The tenant a new installation starts with (see lib/auth/default-tenant.ts). */
export const DEFAULT_TENANT: Tenant = 'default';

/**
 * An id derived from its parts (an RFC 9562 version-8 UUID over their
 * sha256): the same parts always give the same id, so a retried request
 * (same Idempotency-Key) names the same images, batches and items.
 */
export function derivedId(...parts: readonly string[]): ImageId {
  const hash = createHash('sha256').update(parts.join('\n')).digest();
  hash[6] = ((hash[6] ?? 0) & 0x0f) | 0x80;
  hash[8] = ((hash[8] ?? 0) & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
