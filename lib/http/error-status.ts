import {
  ConflictError,
  DeadlineExceededError,
  DependencyUnavailableError,
  DomainError,
  ForbiddenError,
  GoneError,
  InfectedImageError,
  InvalidOptionError,
  InvalidRequestError,
  NotFoundError,
  NotReadyError,
  OverloadedError,
  PayloadTooLargeError,
  RateLimitedError,
  RefusedAddressError,
  RemoteFailedError,
  RemoteTimeoutError,
  TooCostlyError,
  UnauthenticatedError,
  UnprocessableImageError,
  UnprocessableRequestError,
  UnsupportedMediaError,
} from '../errors.ts';

type DomainErrorClass = abstract new (...args: never[]) => DomainError;

/** The one table of HTTP statuses: each domain error class, the status it is answered with. */
export const ERROR_STATUSES: ReadonlyMap<DomainErrorClass, number> = new Map<DomainErrorClass, number>([
  [InvalidRequestError, 400],
  [InvalidOptionError, 400],
  [RefusedAddressError, 400],
  [UnauthenticatedError, 401],
  [ForbiddenError, 403],
  [NotFoundError, 404],
  [ConflictError, 409],
  [NotReadyError, 409],
  [GoneError, 410],
  [PayloadTooLargeError, 413],
  [UnsupportedMediaError, 415],
  [UnprocessableImageError, 422],
  [InfectedImageError, 422],
  [UnprocessableRequestError, 422],
  [TooCostlyError, 422],
  [RateLimitedError, 429],
  [RemoteFailedError, 502],
  [DependencyUnavailableError, 503],
  [DeadlineExceededError, 503],
  [OverloadedError, 503],
  [RemoteTimeoutError, 504],
]);

/** A domain error as an HTTP answer: the status, the headers, and the JSON body's code, message and details. */
export interface ErrorAnswer {
  readonly status: number;
  readonly code: string;
  readonly message: string;
  readonly details: Readonly<Record<string, unknown>>;
  readonly headers: Readonly<Record<string, string>>;
}

/** The status of the error's class, or of the nearest class it extends that has one (TransformOptionError is an InvalidOptionError). */
export function statusOf(error: DomainError): number | undefined {
  for (let type: unknown = error.constructor; typeof type === 'function' && type !== DomainError; type = Object.getPrototypeOf(type)) {
    const status = ERROR_STATUSES.get(type as DomainErrorClass);
    if (status !== undefined) return status;
  }
  return undefined;
}

function headersOf(error: DomainError): Record<string, string> {
  return {
    ...(error instanceof UnauthenticatedError ? { 'WWW-Authenticate': `Bearer realm="${error.realm}"` } : {}),
    ...(error.retryAfterSeconds === undefined ? {} : { 'Retry-After': String(error.retryAfterSeconds) }),
  };
}

/** How a domain error is answered over HTTP; null for a class without a status (an internal error: 500, logged). */
export function errorAnswerOf(error: DomainError): ErrorAnswer | null {
  const status = statusOf(error);
  if (status === undefined) return null;
  // Which server, and why, is for the operator (logged), not the client.
  const message =
    error instanceof DependencyUnavailableError ? 'a server ProgImage depends on did not answer: try again shortly' : error.message;
  return { status, code: error.code, message, details: error.details, headers: headersOf(error) };
}
