import { ProgImageError } from '../errors.ts';

/** The image itself is at fault (truncated, corrupt, too large): no retry can help. */
export class UnprocessableImageError extends ProgImageError {
  constructor(message: string, cause?: unknown) {
    super(message, { retriable: false, cause });
  }
}
