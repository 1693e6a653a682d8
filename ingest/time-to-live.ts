import type { Context } from 'koa';
import { MAX_TTL_SECONDS } from '../lib/config/environment.ts';
import { HttpError } from '../lib/http/errors.ts';

export const TTL_HEADER = 'X-ProgImage-TTL';

/**
 * When an upload expires: `?ttl=SECONDS` or the X-ProgImage-TTL header (not
 * both), else the configured default; undefined: never.
 */
export function expiresAtOf(ctx: Context, defaultTtlSeconds: number | null, now = Date.now()): string | undefined {
  const query = ctx.query.ttl;
  const header = ctx.get(TTL_HEADER);
  if (query !== undefined && header !== '') {
    throw new HttpError(400, 'invalid_ttl', `give the time to live as ?ttl= or as ${TTL_HEADER}, not both`);
  }
  const given = header === '' ? query : header;
  if (given === undefined) return defaultTtlSeconds === null ? undefined : new Date(now + defaultTtlSeconds * 1000).toISOString();
  if (typeof given !== 'string' || !/^\d+$/.test(given) || Number(given) < 1 || Number(given) > MAX_TTL_SECONDS) {
    throw new HttpError(400, 'invalid_ttl', `ttl: expected a number of seconds from 1 to ${MAX_TTL_SECONDS}`, { ttl: given });
  }
  return new Date(now + Number(given) * 1000).toISOString();
}
