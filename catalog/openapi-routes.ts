import Router from '@koa/router';
import { asyncApiDocument } from '../lib/events/asyncapi-document.ts';
import { openApiDocument } from './openapi-document.ts';

/** GET /v1/openapi.json and /v1/asyncapi.json: the documents of the whole HTTP API and of the public topics, served by the catalog. */
export function openApiRoutes(): Router {
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
