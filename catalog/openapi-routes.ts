import Router from '@koa/router';
import { openApiDocument } from './openapi-document.ts';

/** GET /v1/openapi.json: the document of the whole API, served by the catalog. */
export function openApiRoutes(): Router {
  const router = new Router();
  router.get('/v1/openapi.json', (ctx) => {
    ctx.set('Cache-Control', 'no-cache');
    ctx.body = openApiDocument;
  });
  return router;
}
