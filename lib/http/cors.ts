import type { Context, Middleware } from 'koa';
import { admittedTenantOf } from './admission.ts';
import type { CorsConfig } from '../config/index.ts';
import { HttpError } from './errors.ts';

type Headers = Readonly<Record<string, string>>;

/** Image bytes: an image in a format (with or without options), a variant, a batch's output. */
const IMAGE_BYTES_PATH = /^\/v1\/(?:images\/[^/]+\.[^/]+|images\/[^/]+\/variants\/[^/]+|batches\/[^/]+\/items\/[^/]+\/[^/]+)$/;

const IMAGE_METHODS = 'GET, HEAD';
const API_METHODS = 'GET, HEAD, POST, PATCH, DELETE';
/** The request headers ProgImage reads that a browser only sends once a preflight allowed them. */
const REQUEST_HEADERS =
  'Authorization, Content-Type, Idempotency-Key, X-ProgImage-TTL, X-ProgImage-Admin-Token, Range, If-Range, If-None-Match, If-Modified-Since';
/** The response headers a page may read besides the safelisted ones (Content-Type, Cache-Control …). */
const EXPOSED_HEADERS =
  'Accept-Ranges, Content-Disposition, Content-Length, Content-Range, ETag, Last-Modified, Location, Retry-After, WWW-Authenticate';
/** How long a browser may reuse a preflight's answer (Chromium keeps it at most 7200 s). */
const PREFLIGHT_MAX_AGE_SECONDS = '7200';

/** Whether the request asks for image bytes (a GET or HEAD of their URLs), which have a CORS policy of their own. */
export const isImageBytesRequest = (method: string, path: string): boolean =>
  (method === 'GET' || method === 'HEAD') && IMAGE_BYTES_PATH.test(path);

/** A page of `origin` ("*": any page) may read the answer and these of its headers; no credentials are ever allowed. */
const readableBy = (origin: string): Headers => ({
  'Access-Control-Allow-Origin': origin,
  'Access-Control-Expose-Headers': EXPOSED_HEADERS,
});

/**
 * The CORS headers of image bytes, the same whichever path serves them (the
 * Koa app or the response cache before it): "*" lets any page read them, and,
 * being the same for every page, keeps one cached copy good for all; listed
 * origins are reflected, with Vary: Origin on every answer; none: no headers.
 */
export function imageBytesCorsHeaders(imageOrigins: CorsConfig['imageOrigins'], origin: string | undefined): Headers {
  if (imageOrigins === '*') return readableBy('*');
  if (imageOrigins.length === 0) return {};
  return { Vary: 'Origin', ...(origin !== undefined && imageOrigins.includes(origin) ? readableBy(origin) : {}) };
}

/** Answers a preflight the headers set so far allow (204), or refuses it without them, so that the browser blocks the request. */
function answerPreflight(ctx: Context, origin: string, methods: string, refusal: string): void {
  if (!ctx.res.hasHeader('Access-Control-Allow-Origin'))
    throw new HttpError(403, 'origin_not_allowed', `pages of ${origin} ${refusal}`, { origin });
  ctx.set({
    'Access-Control-Allow-Methods': methods,
    'Access-Control-Allow-Headers': REQUEST_HEADERS,
    'Access-Control-Max-Age': PREFLIGHT_MAX_AGE_SECONDS,
  });
  ctx.status = 204;
}

/**
 * Cross-origin resource sharing (the Fetch standard's CORS protocol), before
 * admission: a preflight (OPTIONS with Access-Control-Request-Method) carries
 * no key, and a refused request's error is readable where the request would be.
 *
 * Image bytes follow `imageOrigins` (imageBytesCorsHeaders). The JSON API is
 * readable by the pages of `apiOrigins` and of the tenant's own corsOrigins;
 * while the tenant is not known (a preflight, a request refused at admission)
 * by those of any tenant (`someTenantAllows`). The allowed origin is
 * reflected, never "*", with Vary: Origin on every answer.
 */
export function crossOriginSharing(settings: () => CorsConfig, someTenantAllows: (origin: string) => Promise<boolean>): Middleware {
  return async (ctx, next) => {
    const origin = ctx.get('origin') || undefined;
    const requestedMethod = ctx.get('access-control-request-method');
    const preflight = ctx.method === 'OPTIONS' && origin !== undefined && requestedMethod !== '';
    const { imageOrigins, apiOrigins } = settings();
    if (isImageBytesRequest(preflight ? requestedMethod : ctx.method, ctx.path)) {
      ctx.set(imageBytesCorsHeaders(imageOrigins, origin));
      if (preflight) answerPreflight(ctx, origin, IMAGE_METHODS, 'may not read image bytes (PROGIMAGE_CORS_IMAGE_ORIGINS)');
      else await next();
      return;
    }
    ctx.vary('Origin');
    const allowed = origin !== undefined && (apiOrigins.includes(origin) || (await someTenantAllows(origin)));
    if (allowed) ctx.set(readableBy(origin));
    if (preflight) {
      answerPreflight(ctx, origin, API_METHODS, 'may not call the API (PROGIMAGE_CORS_API_ORIGINS, or the tenant setting corsOrigins)');
      return;
    }
    try {
      await next();
    } finally {
      const tenant = admittedTenantOf(ctx);
      if (allowed && tenant !== undefined && !apiOrigins.includes(origin) && !tenant.corsOrigins.includes(origin)) {
        ctx.remove('Access-Control-Allow-Origin');
        ctx.remove('Access-Control-Expose-Headers');
      }
    }
  };
}
