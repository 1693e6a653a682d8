import { setTimeout as sleep } from 'node:timers/promises';

/** What an open loop did with one task: its result, and how late it started against its schedule. */
export interface Arrival<T> {
  readonly result: T;
  /** Milliseconds between the task's scheduled start and its actual start (the client's own delay). */
  readonly startLagMs: number;
}

/**
 * An open loop: starts `task(0)` … `task(count - 1)` at fixed intervals,
 * `1 / perSecond` seconds apart from the first, whether or not the earlier
 * ones have finished; resolves with the results in index order. Each start is
 * scheduled from the first one, so a late start does not push the later ones
 * back. The first failure rejects and no further task starts (those started
 * still run to their end).
 */
export async function runAtRate<T>(count: number, perSecond: number, task: (index: number) => Promise<T>): Promise<Arrival<T>[]> {
  if (!(perSecond > 0) || !Number.isFinite(perSecond)) throw new RangeError(`perSecond: expected a positive rate, got ${perSecond}`);
  const intervalMs = 1000 / perSecond;
  const begin = performance.now();
  const started: Promise<Arrival<T>>[] = [];
  // Aborted at the first failure: the wait for the next start ends, and nothing more starts.
  const failure = new AbortController();
  for (let index = 0; index < count; index += 1) {
    const scheduled = begin + index * intervalMs;
    // A timer counts from the event loop's cached clock, which can be stale by a millisecond or more under load,
    // so it can fire before its time: wait again until the schedule is reached.
    for (let wait = scheduled - performance.now(); wait > 0 && !failure.signal.aborted; wait = scheduled - performance.now()) {
      await sleep(wait, undefined, { signal: failure.signal }).catch(() => undefined);
    }
    if (failure.signal.aborted) break;
    const startLagMs = performance.now() - scheduled;
    const running = task(index).then((result) => ({ result, startLagMs }));
    running.catch(() => {
      failure.abort();
    });
    started.push(running);
  }
  return Promise.all(started);
}
