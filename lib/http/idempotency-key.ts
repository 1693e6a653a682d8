import type { Context } from 'koa';
import { HttpError } from './errors.ts';

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

/** The request's Idempotency-Key, or null without one; 400 when it is not 1-255 visible ASCII characters. */
export function idempotencyKey(ctx: Context): string | null {
  const header = ctx.get('idempotency-key');
  if (header === '') return null;
  if (!IDEMPOTENCY_KEY.test(header)) {
    throw new HttpError(400, 'invalid_idempotency_key', 'Idempotency-Key must be 1-255 visible ASCII characters');
  }
  return header;
}
