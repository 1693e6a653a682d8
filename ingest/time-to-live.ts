import type { Context } from 'koa';
import type { TenantRecord } from '../lib/auth/tenants.ts';
import { MAX_TTL_SECONDS } from '../lib/events/payloads.ts';
import { TTL_HEADER, ttlSchema } from './contract.ts';
import { HttpError } from '../lib/http/errors.ts';

/** How long an upload that names no ttl lives: its tenant's default, else the service's (null: until deleted). */
export const defaultTtlOf = (tenant: TenantRecord, serviceDefault: number | null): number | null =>
  tenant.defaultTtlSeconds ?? serviceDefault;

/** When an upload that lives `ttlSeconds` expires; undefined (null seconds): never. */
export const expiryAfter = (ttlSeconds: number | null, now = Date.now()): string | undefined =>
  ttlSeconds === null ? undefined : new Date(now + ttlSeconds * 1000).toISOString();

/**
 * When an upload expires: `?ttl=SECONDS` or the X-ProgImage-TTL header, else
 * the default given; undefined: never. Given both ways, each must be valid and
 * the query's wins (a URL says what it asks for; the header may be a client's
 * default).
 */
export function expiresAtOf(ctx: Context, defaultTtlSeconds: number | null, now = Date.now()): string | undefined {
  const query = ctx.query.ttl;
  const header = ctx.headers[TTL_HEADER.toLowerCase()];
  const given = [query, header].filter((value) => value !== undefined).map(secondsOf);
  const [seconds] = given;
  return expiryAfter(seconds ?? defaultTtlSeconds, now);
}

function secondsOf(given: string | string[]): number {
  const seconds = ttlSchema.safeParse(given);
  if (!seconds.success)
    throw new HttpError(400, 'invalid_ttl', `ttl: expected a number of seconds from 1 to ${MAX_TTL_SECONDS}`, { ttl: given });
  return seconds.data;
}
