import Router from '@koa/router';
import { asyncApiDocument } from '../events/asyncapi-document.ts';

/** GET /v1/openapi.json and /v1/asyncapi.json: the documents of the whole HTTP API (built by the host from the services it serves) and of the public topics. */
export function apiDocumentRoutes(openApiDocument: object): Router {
  const router = new Router();
  const serve = (path: string, document: object) =>
    router.get(path, (ctx) => {
      ctx.set('Cache-Control', 'no-cache');
      ctx.body = document;
    });
  serve('/v1/openapi.json', openApiDocument);
  serve('/v1/asyncapi.json', asyncApiDocument);
  return router;
}
