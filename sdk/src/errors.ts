/** The base of every error the client throws. */
export class ProgImageError extends Error {
  override name = 'ProgImageError';
}

/** The server answered with an error: its status and the `{"error": {code, message, …details}}` it sent. */
export class ApiError extends ProgImageError {
  override name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** Everything the error body carries besides code and message (e.g. `option` of an invalid transform). */
    readonly details: Readonly<Record<string, unknown>> = {},
    /** Seconds the server asked to wait before retrying, when it said. */
    readonly retryAfter: number | null = null,
  ) {
    super(message);
  }
}

export class BadRequestError extends ApiError {
  override name = 'BadRequestError';
}
export class AuthenticationError extends ApiError {
  override name = 'AuthenticationError';
}
export class PermissionDeniedError extends ApiError {
  override name = 'PermissionDeniedError';
}
export class NotFoundError extends ApiError {
  override name = 'NotFoundError';
}
/** 409: e.g. `not_ready`, an image still in the pipeline. */
export class ConflictError extends ApiError {
  override name = 'ConflictError';
}
/** 410: e.g. `infected`, an image that is quarantined and never served. */
export class GoneError extends ApiError {
  override name = 'GoneError';
}
export class PayloadTooLargeError extends ApiError {
  override name = 'PayloadTooLargeError';
}
export class UnsupportedMediaTypeError extends ApiError {
  override name = 'UnsupportedMediaTypeError';
}
export class UnprocessableEntityError extends ApiError {
  override name = 'UnprocessableEntityError';
}
export class RateLimitError extends ApiError {
  override name = 'RateLimitError';
}
/** Any 5xx; 503 has a class of its own. */
export class ServerError extends ApiError {
  override name = 'ServerError';
}
export class ServiceUnavailableError extends ServerError {
  override name = 'ServiceUnavailableError';
}

/** The server could not be reached, or the connection broke before an answer. */
export class ConnectionError extends ProgImageError {
  override name = 'ConnectionError';
}
/** The call's `timeout` passed. */
export class TimeoutError extends ProgImageError {
  override name = 'TimeoutError';
}
/** waitUntilReady: the pipeline gave up on the image (failed) or found it infected. */
export class ImageNotUsableError extends ProgImageError {
  override name = 'ImageNotUsableError';
  constructor(
    readonly id: string,
    readonly status: string,
    message: string,
  ) {
    super(message);
  }
}

type ApiErrorClass = new (...args: ConstructorParameters<typeof ApiError>) => ApiError;

const BY_STATUS: Readonly<Record<number, ApiErrorClass>> = {
  400: BadRequestError,
  401: AuthenticationError,
  403: PermissionDeniedError,
  404: NotFoundError,
  409: ConflictError,
  410: GoneError,
  413: PayloadTooLargeError,
  415: UnsupportedMediaTypeError,
  422: UnprocessableEntityError,
  429: RateLimitError,
  503: ServiceUnavailableError,
};

/** The typed error of an error response: its class by status, the code and message from its JSON body. */
export function apiError(status: number, body: unknown, retryAfter: number | null): ApiError {
  const error = typeof body === 'object' && body !== null && 'error' in body ? body.error : null;
  const { code, message, ...details } = typeof error === 'object' && error !== null ? (error as Record<string, unknown>) : {};
  const ErrorClass = BY_STATUS[status] ?? (status >= 500 ? ServerError : ApiError);
  return new ErrorClass(
    status,
    typeof code === 'string' ? code : `http_${status}`,
    typeof message === 'string' ? message : `the server answered ${status}`,
    details,
    retryAfter,
  );
}
