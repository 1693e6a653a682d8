/**
 * Errors say whether trying again can help (after KafkaJS): the pipeline
 * runner retries `retriable` errors with backoff and gives up at once on the rest.
 */
export class ProgImageError extends Error {
  readonly retriable: boolean;

  constructor(message: string, options: { retriable: boolean; cause?: unknown }) {
    super(message, { cause: options.cause });
    this.name = new.target.name;
    this.retriable = options.retriable;
  }
}

export const isRetriable = (error: unknown): boolean => !(error instanceof ProgImageError) || error.retriable;

/** What an error tells its caller beside its message: the option, the limit, what was found … */
export type ErrorDetails = Readonly<Record<string, unknown>>;

/**
 * An error a caller is told about: what went wrong as a stable `code` (the
 * same wherever it is reported: an HTTP answer, a batch item, an outcome
 * event), a message to act on, details, and whether a retry can help. It
 * knows nothing of HTTP: lib/http/error-status.ts picks the status.
 */
export class DomainError extends ProgImageError {
  /** When a retry may help, how many seconds to wait first (HTTP: Retry-After). */
  readonly retryAfterSeconds: number | undefined;

  constructor(
    readonly code: string,
    message: string,
    readonly details: ErrorDetails = {},
    options: { retriable?: boolean; retryAfterSeconds?: number; cause?: unknown } = {},
  ) {
    super(message, { retriable: options.retriable ?? false, cause: options.cause });
    this.retryAfterSeconds = options.retryAfterSeconds;
  }

  /**
   * The same error (its class, code and hints) with what a caller adds of its
   * context: `${prefix}: ${message}` and more details (which file of several,
   * which URL, which transformation).
   */
  within(prefix: string, details: ErrorDetails): this {
    const copy = Object.create(Object.getPrototypeOf(this) as object) as this;
    Object.assign(copy, this, { details: { ...this.details, ...details } });
    Object.defineProperty(copy, 'message', { value: `${prefix}: ${this.message}`, writable: true, configurable: true });
    Object.defineProperty(copy, 'cause', { value: this, writable: true, configurable: true });
    Object.defineProperty(copy, 'stack', {
      value: `${this.name}: ${copy.message}\n${this.stack?.split('\n').slice(1).join('\n') ?? ''}`,
      writable: true,
      configurable: true,
    });
    return copy;
  }
}

/** The request is malformed or asks for what cannot be (a bad URL, an output past the limits …). */
export class InvalidRequestError extends DomainError {}

/** An option of a transformation is unknown, out of range or not allowed with the others; `details.option` names it when there is one. */
export class InvalidOptionError extends DomainError {
  constructor(message: string, details: ErrorDetails = {}) {
    super('invalid_transform', message, details);
  }
}

/** The caller did not prove who it is; `realm` says which credentials are asked for. */
export class UnauthenticatedError extends DomainError {
  constructor(
    code: string,
    message: string,
    readonly realm: string,
  ) {
    super(code, message);
  }
}

/** The caller is known, and what it asks is not allowed (a rule, a quota, a configuration). */
export class ForbiddenError extends DomainError {}

/** No such thing (image, batch, job, webhook …) for this caller. */
export class NotFoundError extends DomainError {}

/** The thing asked for existed and is gone for good. */
export class GoneError extends DomainError {}

/** The request contradicts the state of what it names (an id taken, a job running, a limit of things reached). */
export class ConflictError extends DomainError {}

/** The thing asked for is still being made: asking again shortly can help. */
export class NotReadyError extends DomainError {
  constructor(message: string, details: ErrorDetails = {}, retryAfterSeconds = 1) {
    super('not_ready', message, details, { retryAfterSeconds });
  }
}

/** More bytes than allowed (an upload, a remote image, a body). */
export class PayloadTooLargeError extends DomainError {
  constructor(message: string, details: ErrorDetails = {}) {
    super('payload_too_large', message, details);
  }
}

/** The content is not an image in an accepted format, or not the one it claims to be. */
export class UnsupportedMediaError extends DomainError {}

/** The image itself is at fault (truncated, corrupt, too large, unsafe, undecodable): no retry can help. */
export class UnprocessableImageError extends DomainError {
  constructor(code: string, message: string, details: ErrorDetails = {}, cause?: unknown) {
    super(code, message, details, { cause });
  }
}

/** The image was found infected by the scanner. */
export class InfectedImageError extends DomainError {
  constructor(message: string, details: ErrorDetails = {}) {
    super('infected', message, details);
  }
}

/** Well formed, and refused for what it asks (a reused idempotency key, too many images at once, an image whose processing failed). */
export class UnprocessableRequestError extends DomainError {}

/** The work would cost more CPU or memory than the budget allows. */
export class TooCostlyError extends DomainError {
  constructor(message: string, details: ErrorDetails = {}) {
    super('too_costly', message, details);
  }
}

/** The caller sends more requests than its rate allows: it may try again after `retryAfterSeconds`. */
export class RateLimitedError extends DomainError {
  constructor(message: string, details: ErrorDetails, retryAfterSeconds: number) {
    super('rate_limited', message, details, { retryAfterSeconds });
  }
}

/** A URL ProgImage refuses to fetch: it resolves to an address that is private, local or otherwise not public. */
export class RefusedAddressError extends DomainError {
  constructor(message: string, details: ErrorDetails = {}) {
    super('address_refused', message, details);
  }
}

/** A remote server ProgImage fetched from answered with an error or could not be reached (`details.remoteStatus` when it answered). */
export class RemoteFailedError extends DomainError {}

/** A remote server ProgImage fetched from did not send its image in time. */
export class RemoteTimeoutError extends DomainError {
  constructor(message: string, details: ErrorDetails = {}) {
    super('remote_timeout', message, details);
  }
}

/** A server ProgImage depends on did not answer or failed; a later try may succeed. */
export class DependencyUnavailableError extends DomainError {
  constructor(message: string, cause?: unknown) {
    super('dependency_unavailable', message, {}, { retriable: true, retryAfterSeconds: 5, cause });
  }
}

/** The work did not finish within its deadline; with more time, or less load, it may. */
export class DeadlineExceededError extends DomainError {
  constructor(message: string, cause?: unknown) {
    super('transform_timeout', message, {}, { retriable: true, retryAfterSeconds: 5, cause });
  }
}

/** Too much work is running or waiting to take more now: try again after `retryAfterSeconds`. */
export class OverloadedError extends DomainError {
  constructor(message: string, details: ErrorDetails, retryAfterSeconds: number) {
    super('overloaded', message, details, { retriable: true, retryAfterSeconds });
  }
}
