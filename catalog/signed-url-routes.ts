import Router from '@koa/router';
import { z } from 'zod';
import { tenantRecordOf } from '../lib/auth/admission.ts';
import { signUrl } from '../lib/auth/signatures.ts';
import { currentSecret } from '../lib/auth/tenants.ts';
import { readJsonBody } from '../lib/http/json-body.ts';

/** Longest a signed URL may live: a year, the time browsers and CDNs keep the immutable response. */
const MAX_EXPIRES_IN_SECONDS = 365 * 24 * 3600;

const signRequestSchema = z
  .object({
    path: z.string().regex(/^\/v1\/images\/[^?#]+\.[a-z0-9]+(\?[^#]*)?$/, 'expected the path of image bytes, e.g. /v1/images/ID.webp?w=400'),
    expiresIn: z.number().int().min(1).max(MAX_EXPIRES_IN_SECONDS).default(3600),
  })
  .strict();

/**
 * POST /v1/signed-urls {path, expiresIn}: a URL of image bytes anyone may GET
 * until it expires (an <img src> in a browser), signed with the tenant's
 * current secret, which never leaves the server.
 */
export function signedUrlRoutes(): Router {
  const router = new Router();
  router.post('/v1/signed-urls', async (ctx) => {
    const { path, expiresIn } = await readJsonBody(ctx, signRequestSchema);
    const tenant = tenantRecordOf(ctx);
    const expiresAt = new Date(Date.now() + expiresIn * 1000);
    ctx.status = 201;
    ctx.body = { url: signUrl(path, tenant.id, currentSecret(tenant), expiresAt), expiresAt: expiresAt.toISOString() };
  });
  return router;
}
