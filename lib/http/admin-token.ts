import { createHash, timingSafeEqual } from 'node:crypto';
import type { Middleware } from 'koa';
import { ForbiddenError, UnauthenticatedError } from '../errors.ts';

/** The header that carries the admin token beside a tenant's key in Authorization (the older way to send it). */
export const ADMIN_TOKEN_HEADER = 'X-ProgImage-Admin-Token';

/** Every admin route is under this prefix, and admitted by the admin token alone (see `admission`). */
const ADMIN_PATH_PREFIX = '/v1/admin/';

/** The router matches paths without regard to case, so the prefix is compared the same way. */
export const isAdminPath = (path: string): boolean => path.toLowerCase().startsWith(ADMIN_PATH_PREFIX);

const BEARER = /^Bearer\s+(\S+)\s*$/i;

/** Digests of equal length, so that neither the contents nor the length of the token leak through the time taken. */
const sameSecret = (given: string, expected: string): boolean =>
  timingSafeEqual(createHash('sha256').update(given).digest(), createHash('sha256').update(expected).digest());

const unauthenticated = (code: string, message: string): UnauthenticatedError => new UnauthenticatedError(code, message, 'progimage-admin');

/**
 * The gate of /v1/admin: PROGIMAGE_ADMIN_TOKEN in X-ProgImage-Admin-Token or
 * as "Authorization: Bearer <token>", and nothing else: an operator who lost
 * every API key still gets in, and a tenant's API key never does. Admin
 * answers are never stored by a cache.
 */
export function requireAdminToken(token: string | null): Middleware {
  return async (ctx, next) => {
    ctx.set('Cache-Control', 'no-store');
    if (token === null) throw new ForbiddenError('admin_disabled', 'the admin API is off: set PROGIMAGE_ADMIN_TOKEN');
    const given = ctx.get(ADMIN_TOKEN_HEADER) || BEARER.exec(ctx.get('authorization'))?.[1];
    if (given === undefined || given === '') {
      throw unauthenticated(
        'admin_token_required',
        `send the admin token as "Authorization: Bearer <PROGIMAGE_ADMIN_TOKEN>" or in ${ADMIN_TOKEN_HEADER}`,
      );
    }
    if (!sameSecret(given, token)) {
      throw unauthenticated('admin_token_invalid', "the admin token is not valid (a tenant's API key does not open the admin API)");
    }
    await next();
  };
}
