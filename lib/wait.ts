import { setTimeout as sleep } from 'node:timers/promises';

export interface WaitOptions {
  /** Give up after this long. */
  readonly timeoutMs: number;
  /** Pause between two attempts. */
  readonly intervalMs?: number;
  /** What is being waited for, for the error message. */
  readonly description: string;
}

export class WaitTimeoutError extends Error {
  constructor(description: string, timeoutMs: number, lastError: unknown) {
    const reason = lastError instanceof Error ? `: ${lastError.message}` : '';
    super(`timed out after ${timeoutMs} ms waiting for ${description}${reason}`, { cause: lastError });
    this.name = 'WaitTimeoutError';
  }
}

/**
 * Calls `attempt` until it resolves to something other than `false`, or
 * throws `WaitTimeoutError` with the last failure once the time is up.
 * A rejection counts as "not yet".
 */
export async function waitUntil<T>(attempt: () => Promise<T | false> | T | false, options: WaitOptions): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const result = await attempt();
      if (result !== false) return result;
      lastError = undefined;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) throw new WaitTimeoutError(options.description, options.timeoutMs, lastError);
    await sleep(options.intervalMs ?? 200);
  }
}
