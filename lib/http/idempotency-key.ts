import type { Context } from 'koa';
import { idempotencyKeySchema } from '../ids.ts';
import { HttpError } from './errors.ts';

/**
 * The request's Idempotency-Key, or null without the header; 400 when it is
 * given but is not 1-255 visible ASCII characters — an empty header is not
 * "no key" but a key the document calls invalid.
 */
export function idempotencyKey(ctx: Context): string | null {
  const header = ctx.headers['idempotency-key'];
  if (header === undefined) return null;
  // Node joins a repeated Idempotency-Key with ", ", which the pattern refuses.
  const value = Array.isArray(header) ? header.join(', ') : header;
  if (!idempotencyKeySchema.safeParse(value).success) {
    throw new HttpError(400, 'invalid_idempotency_key', 'Idempotency-Key must be 1-255 visible ASCII characters');
  }
  return value;
}
