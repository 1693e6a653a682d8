import type { Context, Middleware } from 'koa';
import type { Tenant } from '../ids.ts';
import { isAdminPath } from './admin-token.ts';
import type { Gatekeeper } from '../auth/gatekeeper.ts';
import type { TenantRecord } from '../auth/tenants.ts';

interface AdmittedState {
  tenant?: TenantRecord;
  signatureExpires?: number | null;
}

/**
 * Lets in only requests with a valid API key or signed URL, and tells the
 * routes behind it which tenant they act for. A signed URL's parameters are
 * taken off the URL: the routes see the request as its signer wrote it.
 * Admin paths act for no tenant: their routers admit by the admin token
 * (requireAdminToken), so no API key is asked for there.
 */
export function admission(gatekeeper: Gatekeeper, openPaths: ReadonlySet<string>): Middleware {
  return async (ctx, next) => {
    if (openPaths.has(ctx.path) || isAdminPath(ctx.path)) {
      await next();
      return;
    }
    const authorization = ctx.get('authorization');
    const admitted = await gatekeeper.admit({
      method: ctx.method,
      authorization: authorization === '' ? undefined : authorization,
      url: ctx.url,
    });
    const state = ctx.state as AdmittedState;
    state.tenant = admitted.tenant;
    state.signatureExpires = admitted.signatureExpires;
    if (admitted.url !== ctx.url) ctx.url = admitted.url;
    await next();
  };
}

/** The tenant the request was admitted for; undefined before admission, when it was refused, and on paths it does not guard. */
export const admittedTenantOf = (ctx: Context): TenantRecord | undefined => (ctx.state as AdmittedState).tenant;

/** The tenant the request was admitted for (every API route is behind `admission`). */
export function tenantRecordOf(ctx: Context): TenantRecord {
  const tenant = admittedTenantOf(ctx);
  if (tenant === undefined) throw new Error(`${ctx.method} ${ctx.path} is served without admission`);
  return tenant;
}

export const tenantOf = (ctx: Context): Tenant => tenantRecordOf(ctx).id;

/** Until when (Unix seconds) the request's signed URL is valid; null for one with an API key. */
export const signatureExpiresOf = (ctx: Context): number | null => (ctx.state as AdmittedState).signatureExpires ?? null;
