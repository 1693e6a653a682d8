import Router from '@koa/router';
import { tenantRecordOf } from '../lib/http/admission.ts';
import { signedUrlFor, signedUrlRequestSchema } from '../lib/auth/signed-urls.ts';
import { readJsonBody } from '../lib/http/json-body.ts';

/**
 * POST /v1/signed-urls {path, expiresIn}: a URL of image bytes anyone may GET
 * until it expires (an <img src> in a browser), signed with the tenant's
 * current secret: the URL a client holding that secret signs itself.
 */
export function signedUrlRoutes(): Router {
  const router = new Router();
  router.post('/v1/signed-urls', async (ctx) => {
    const request = await readJsonBody(ctx, signedUrlRequestSchema);
    ctx.status = 201;
    ctx.body = signedUrlFor(tenantRecordOf(ctx), request);
  });
  return router;
}
