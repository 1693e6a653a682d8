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

/** A server ProgImage depends on did not answer or failed; a later try may succeed. */
export class DependencyUnavailableError extends ProgImageError {
  constructor(message: string, cause?: unknown) {
    super(message, { retriable: true, cause });
  }
}

export const isRetriable = (error: unknown): boolean => !(error instanceof ProgImageError) || error.retriable;
