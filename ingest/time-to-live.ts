import type { Context } from 'koa';
import type { TenantRecord } from '../lib/auth/tenants.ts';
import { MAX_TTL_SECONDS } from '../lib/events/payloads.ts';
import { TTL_HEADER, ttlSchema } from './contract.ts';
import { HttpError } from '../lib/http/errors.ts';


/** How long an upload that names no ttl lives: its tenant's default, else the service's (null: until deleted). */
export const defaultTtlOf = (tenant: TenantRecord, serviceDefault: number | null): number | null => tenant.defaultTtlSeconds ?? serviceDefault;

/** When an upload that lives `ttlSeconds` expires; undefined (null seconds): never. */
export const expiryAfter = (ttlSeconds: number | null, now = Date.now()): string | undefined =>
  ttlSeconds === null ? undefined : new Date(now + ttlSeconds * 1000).toISOString();

/**
 * When an upload expires: `?ttl=SECONDS` or the X-ProgImage-TTL header (not
 * both), else the default given; undefined: never.
 */
export function expiresAtOf(ctx: Context, defaultTtlSeconds: number | null, now = Date.now()): string | undefined {
  const query = ctx.query.ttl;
  const header = ctx.get(TTL_HEADER);
  if (query !== undefined && header !== '') {
    throw new HttpError(400, 'invalid_ttl', `give the time to live as ?ttl= or as ${TTL_HEADER}, not both`);
  }
  const given = header === '' ? query : header;
  if (given === undefined) return expiryAfter(defaultTtlSeconds, now);
  const seconds = ttlSchema.safeParse(given);
  if (!seconds.success) throw new HttpError(400, 'invalid_ttl', `ttl: expected a number of seconds from 1 to ${MAX_TTL_SECONDS}`, { ttl: given });
  return expiryAfter(seconds.data, now);
}
