import type { Context, Next } from 'koa';
import { DependencyUnavailableError, ProgImageError } from '../errors.ts';
import type { Logger } from '../logger.ts';

/**
 * An error the client caused or should know about. It becomes the response:
 * the status, and a JSON body `{ error: { code, message, ...details } }`.
 * Outside HTTP (an upstream ingest request) it is a permanent failure.
 */
export class HttpError extends ProgImageError {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Readonly<Record<string, unknown>> = {},
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message, { retriable: false });
  }
}

/** Errors thrown by Koa and its body parsers carry `status` and `expose`. */
interface KoaStyleError {
  readonly status: number;
  readonly expose?: boolean;
  readonly message: string;
}

const isKoaStyleError = (error: unknown): error is KoaStyleError =>
  error instanceof Error && typeof (error as Partial<KoaStyleError>).status === 'number';

const CODES: Readonly<Record<number, string>> = {
  400: 'bad_request',
  404: 'not_found',
  405: 'method_not_allowed',
  406: 'not_acceptable',
  408: 'request_timeout',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  416: 'range_not_satisfiable',
  422: 'unprocessable_entity',
  501: 'not_implemented',
  503: 'service_unavailable',
};

/** What a status that a layer set without a body (the router's 404, 405 and 501) says to the client. */
function statusError(ctx: Context): HttpError {
  const code = CODES[ctx.status] ?? 'bad_request';
  if (ctx.status === 404) return new HttpError(404, code, `no route for ${ctx.method} ${ctx.path}`);
  const allow = ctx.response.get('Allow');
  const allowed = allow === '' ? [] : allow.split(/\s*,\s*/);
  const headers: Record<string, string> = allow === '' ? {} : { Allow: allow };
  if (ctx.status === 405) return new HttpError(405, code, `${ctx.method} is not allowed on ${ctx.path}`, { allowed }, headers);
  if (ctx.status === 501) return new HttpError(501, code, `${ctx.method} is not a method ProgImage implements`, { allowed }, headers);
  return new HttpError(ctx.status, code, ctx.message);
}

function toHttpError(error: unknown): HttpError | null {
  if (error instanceof HttpError) return error;
  if (error instanceof DependencyUnavailableError) {
    // Which server, and why, is for the operator (logged), not the client.
    return new HttpError(503, 'dependency_unavailable', 'a server ProgImage depends on did not answer: try again shortly', {}, { 'Retry-After': '5' });
  }
  if (isKoaStyleError(error) && error.status < 500) {
    return new HttpError(error.status, CODES[error.status] ?? 'bad_request', error.expose === false ? 'bad request' : error.message);
  }
  return null;
}

/**
 * The outermost middleware: every failure becomes a JSON error, whether
 * thrown or a status set without a body (Allow kept on a 405 or 501); a
 * crash never leaks a stack trace.
 */
export function errorResponses(log: Logger) {
  return async (ctx: Context, next: Next): Promise<void> => {
    try {
      await next();
      if (ctx.status >= 400 && (ctx.body === undefined || ctx.body === null)) throw statusError(ctx);
    } catch (error) {
      const known = toHttpError(error);
      if (known === null) log.error({ err: error, method: ctx.method, path: ctx.path }, 'request failed');
      else if (error instanceof DependencyUnavailableError) log.warn({ err: error, method: ctx.method, path: ctx.path }, 'request refused: a dependency is unavailable');
      const response = known ?? new HttpError(500, 'internal_error', 'internal error; the request was logged');
      ctx.status = response.status;
      ctx.set(response.headers);
      ctx.set('Cache-Control', 'no-store');
      ctx.body = { error: { code: response.code, message: response.message, ...response.details } };
    }
  };
}
