import type { Context } from 'koa';
import { idempotencyKeySchema } from '../ids.ts';
import { HttpError } from './errors.ts';

/** The request's Idempotency-Key, or null without one; 400 when it is not 1-255 visible ASCII characters. */
export function idempotencyKey(ctx: Context): string | null {
  const header = ctx.get('idempotency-key');
  if (header === '') return null;
  if (!idempotencyKeySchema.safeParse(header).success) {
    throw new HttpError(400, 'invalid_idempotency_key', 'Idempotency-Key must be 1-255 visible ASCII characters');
  }
  return header;
}
