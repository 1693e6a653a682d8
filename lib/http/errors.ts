import type { Context, Next } from 'koa';
import { DependencyUnavailableError, DomainError, type ErrorDetails } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { errorAnswerOf, type ErrorAnswer } from './error-status.ts';

/**
 * An error about HTTP itself (a route, a method, a header, a body): its
 * status is its meaning. Everything below lib/http throws domain errors
 * (lib/errors.ts), whose status lib/http/error-status.ts picks. Either
 * becomes the response: the status, and a JSON body `{ error: { code, message, ...details } }`.
 */
export class HttpError extends DomainError implements ErrorAnswer {
  constructor(
    readonly status: number,
    code: string,
    message: string,
    details: ErrorDetails = {},
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(code, message, details);
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
  503: 'service_unavailable',
};

/** What a status that a layer set without a body (the router's 404, 405 and 501, answered as 405) says to the client. */
function statusError(ctx: Context): HttpError {
  const code = CODES[ctx.status] ?? 'bad_request';
  if (ctx.status === 404) return new HttpError(404, code, `no route for ${ctx.method} ${ctx.path}`);
  const allow = ctx.response.get('Allow');
  const allowed = allow === '' ? [] : allow.split(/\s*,\s*/);
  const headers: Record<string, string> = allow === '' ? {} : { Allow: allow };
  // Any method the path does not take (the router's 501 is one it has no route for anywhere: TRACE, QUERY, PROPFIND) is not allowed there.
  if (ctx.status === 405 || ctx.status === 501) {
    return new HttpError(405, 'method_not_allowed', `${ctx.method} is not allowed on ${ctx.path}`, { allowed }, headers);
  }
  return new HttpError(ctx.status, code, ctx.message);
}

function toAnswer(error: unknown): ErrorAnswer | null {
  if (error instanceof HttpError) return error;
  if (error instanceof DomainError) return errorAnswerOf(error);
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
      const known = toAnswer(error);
      if (known === null) log.error({ err: error, method: ctx.method, path: ctx.path }, 'request failed');
      else if (error instanceof DependencyUnavailableError)
        log.warn({ err: error, method: ctx.method, path: ctx.path }, 'request refused: a dependency is unavailable');
      const response = known ?? new HttpError(500, 'internal_error', 'internal error; the request was logged');
      ctx.status = response.status;
      ctx.set(response.headers);
      ctx.set('Cache-Control', 'no-store');
      ctx.body = { error: { code: response.code, message: response.message, ...response.details } };
    }
  };
}
