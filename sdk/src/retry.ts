/** Statuses that say "try again later": the request did nothing. */
export const RETRIED_STATUSES: ReadonlySet<number> = new Set([429, 503]);

const BASE_DELAY_MS = 250;
const MAX_BACKOFF_MS = 10_000;
/** A Retry-After beyond this is not waited for in full: the call's timeout is the real bound. */
const MAX_RETRY_AFTER_MS = 60_000;

/**
 * How long to wait before retry number `attempt` (0 for the first): what the
 * server asked for, else exponential backoff with full jitter, so that many
 * clients failing at once do not come back at once.
 */
export function retryDelay(attempt: number, retryAfterMs: number | null, random: () => number = Math.random): number {
  if (retryAfterMs !== null) return Math.min(retryAfterMs, MAX_RETRY_AFTER_MS);
  return Math.round(random() * Math.min(MAX_BACKOFF_MS, BASE_DELAY_MS * 2 ** attempt));
}

/** Retry-After in milliseconds: delta-seconds or an HTTP date; null when absent or unreadable. */
export function parseRetryAfter(header: string | null, now: number = Date.now()): number | null {
  if (header === null || header.trim() === '') return null;
  const text = header.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}
