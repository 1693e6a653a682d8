/** A retry comes up to this share of its wait earlier, never later, so that deliveries failed together are not all retried at one instant. */
const JITTER = 0.1;

/**
 * How long to wait before the next attempt of a delivery that has failed
 * `failures` times in a row: the schedule's entry for it, less up to 10 %;
 * null once the schedule is used up and the delivery is given up.
 */
export function retryDelayMs(scheduleMs: readonly number[], failures: number, random: () => number = Math.random): number | null {
  const wait = scheduleMs[failures - 1];
  return wait === undefined ? null : Math.round(wait * (1 - JITTER * random()));
}
