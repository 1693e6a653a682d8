import Router from '@koa/router';
import type { Middleware } from 'koa';
import { requireAdminToken } from '../lib/http/admin-token.ts';
import { apiKeyHash } from '../lib/auth/keys.ts';
import { KEY_HASH } from '../lib/auth/tenants.ts';
import { signedUrlRequestSchema } from '../lib/auth/signed-urls.ts';
import { HttpError } from '../lib/http/errors.ts';
import { readJsonBody } from '../lib/http/json-body.ts';
import { segmentOf, segmentRoute } from '../lib/http/segment-route.ts';
import {
  keyToRevokeSchema,
  newIngestCredentialSchema,
  newKeySchema,
  newTenantSchema,
  pageQuerySchema,
  rotationSchema,
  tenantSettingsChangesSchema,
  type PageQuery,
} from './requests.ts';
import { AdministrationError, type AdministrationFailure, type TenantAdministration } from './tenant-administration.ts';
import { INGEST_CREDENTIALS_PATH, KEYS_PATH, TENANTS_PATH, tenantPath } from './views.ts';

const STATUS_OF: Readonly<Record<AdministrationFailure, number>> = {
  tenant_not_found: 404,
  key_not_found: 404,
  credential_not_found: 404,
  tenant_exists: 409,
};

const administrationErrors: Middleware = async (_ctx, next) => {
  try {
    await next();
  } catch (error) {
    if (error instanceof AdministrationError) throw new HttpError(STATUS_OF[error.code], error.code, error.message);
    throw error;
  }
};

function pageQuery(query: unknown): PageQuery {
  const parsed = pageQuerySchema.safeParse(query);
  if (!parsed.success)
    throw new HttpError(400, 'invalid_query', parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; '));
  return parsed.data;
}

/**
 * /v1/admin/tenants, /v1/admin/keys and /v1/admin/ingest-credentials:
 * tenants, their API keys, signing secrets and ingest credentials, behind the
 * admin token. New keys, credential secrets and signing secrets are in the
 * answer that creates them and nowhere else.
 */
export function tenantRoutes(administration: TenantAdministration, token: string | null): Router {
  const router = new Router();
  router.use(requireAdminToken(token), administrationErrors);
  const tenant = `${TENANTS_PATH}/:name`;

  router.get(TENANTS_PATH, async (ctx) => {
    ctx.body = await administration.tenants(pageQuery(ctx.query));
  });

  router.post(TENANTS_PATH, async (ctx) => {
    const created = await administration.createTenant(await readJsonBody(ctx, newTenantSchema));
    ctx.status = 201;
    ctx.set('Location', tenantPath(created.tenant.name));
    ctx.body = created;
  });

  router.get(tenant, async (ctx) => {
    ctx.body = await administration.tenant(ctx.params.name ?? '');
  });

  router.get(`${tenant}/pipeline`, async (ctx) => {
    ctx.body = await administration.pipeline(ctx.params.name ?? '');
  });

  router.patch(tenant, async (ctx) => {
    ctx.body = await administration.updateTenant(ctx.params.name ?? '', await readJsonBody(ctx, tenantSettingsChangesSchema));
  });

  router.get(`${tenant}/keys`, async (ctx) => {
    ctx.body = await administration.keys(ctx.params.name ?? '', pageQuery(ctx.query));
  });

  router.post(`${tenant}/keys`, async (ctx) => {
    const created = await administration.createKey(ctx.params.name ?? '', await readJsonBody(ctx, newKeySchema));
    ctx.status = 201;
    ctx.body = created;
  });

  router.post(`${tenant}/signing-secret`, async (ctx) => {
    ctx.body = await administration.rotateSigningSecret(ctx.params.name ?? '', await readJsonBody(ctx, rotationSchema));
  });

  router.post(`${tenant}/signed-urls`, async (ctx) => {
    const signed = await administration.signUrl(ctx.params.name ?? '', await readJsonBody(ctx, signedUrlRequestSchema));
    ctx.status = 201;
    ctx.body = signed;
  });

  router.get(`${tenant}/ingest-credentials`, async (ctx) => {
    ctx.body = await administration.ingestCredentials(ctx.params.name ?? '', pageQuery(ctx.query));
  });

  router.post(`${tenant}/ingest-credentials`, async (ctx) => {
    const created = await administration.createIngestCredential(ctx.params.name ?? '', await readJsonBody(ctx, newIngestCredentialSchema));
    ctx.status = 201;
    ctx.body = created;
  });

  router.delete(`${INGEST_CREDENTIALS_PATH}/:keyId`, async (ctx) => {
    ctx.body = await administration.revokeIngestCredential(ctx.params.keyId ?? '');
  });

  // A sha256 in hex, so that /v1/admin/keys/revoke is not one: DELETE there is a 405 that allows POST.
  router.delete(segmentRoute(KEYS_PATH, KEY_HASH), async (ctx) => {
    ctx.body = await administration.revokeKey(segmentOf(ctx));
  });

  // The key in the body, not the URL, which access logs and proxies keep.
  router.post(`${KEYS_PATH}/revoke`, async (ctx) => {
    const { key } = await readJsonBody(ctx, keyToRevokeSchema);
    ctx.body = await administration.revokeKey(apiKeyHash(key));
  });

  return router;
}
