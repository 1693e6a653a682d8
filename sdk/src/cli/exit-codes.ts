import { ApiError, ConnectionError, ServerError, TimeoutError } from '../errors.ts';

/** What the progimage command's exit status means. */
export const EXIT = {
  ok: 0,
  /** Anything unexpected: a local file that cannot be read, a bug. */
  failure: 1,
  /** Unknown command or flag, a missing argument, no server URL. */
  usage: 2,
  /** The server refused the request (a 4xx but 429: not found, invalid transform, unsupported image, a bad API key …). */
  refused: 3,
  /** A bulk command finished, but some of its items failed. */
  partial: 4,
  /** The server could not be reached, failed (5xx), rate-limited the call (429), or did not answer in time. */
  unavailable: 5,
} as const;

/** A mistake in how the command was called. */
export class UsageError extends Error {
  override name = 'UsageError';
}

export function exitCodeFor(error: unknown): number {
  if (error instanceof UsageError) return EXIT.usage;
  if (error instanceof ServerError || error instanceof ConnectionError || error instanceof TimeoutError) return EXIT.unavailable;
  if (error instanceof ApiError) return error.status === 429 ? EXIT.unavailable : EXIT.refused;
  return EXIT.failure;
}
