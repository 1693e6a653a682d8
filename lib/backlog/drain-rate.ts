/*
 * How fast the pipeline drains, from two counts of the catalog taken a few
 * seconds apart, and what that makes of a wait. Image records are never
 * removed (a deleted image keeps its record), so the total only grows: every
 * image recorded in a window entered the pipeline, and what the backlog did
 * not grow by, left it.
 */

/** One count of the catalog: when, how many image records, and how many of them are not final. */
export interface BacklogSample {
  /** Milliseconds since the epoch. */
  readonly at: number;
  readonly total: number;
  readonly inFlight: number;
}

/** The weight of the newest window in the smoothed rate: about the last five windows count. */
export const SMOOTHING = 0.3;

/** The longest wait a client is told, in seconds (a day). */
export const LONGEST_REPORTED_WAIT_SECONDS = 86_400;

/** The longest Retry-After of a refusal: past it, a client asks again rather than wait on an estimate. */
export const LONGEST_RETRY_AFTER_SECONDS = 60;

/**
 * Images that left the pipeline per second between two samples (Δtotal −
 * Δin-flight over the window), or null when the window says nothing of its
 * pace: the pipeline had nothing to do and did nothing.
 */
export function drainedPerSecond(before: BacklogSample, after: BacklogSample): number | null {
  const seconds = (after.at - before.at) / 1000;
  const drained = Math.max(0, after.total - before.total - (after.inFlight - before.inFlight));
  if (seconds <= 0 || (before.inFlight === 0 && drained === 0)) return null;
  return drained / seconds;
}

/** The drain rate smoothed over windows (an exponential moving average); null until a window has measured it. */
export function smoothedRate(previous: number | null, measured: number | null): number | null {
  if (measured === null) return previous;
  if (previous === null) return measured;
  return SMOOTHING * measured + (1 - SMOOTHING) * previous;
}

/**
 * Seconds until `inFlight` images have drained at `rate` per second: 0 for
 * none, Infinity when nothing drains, null when the rate is not known yet.
 */
export function expectedWaitSeconds(inFlight: number, rate: number | null): number | null {
  if (inFlight === 0) return 0;
  if (rate === null) return null;
  return rate === 0 ? Infinity : inFlight / rate;
}

/**
 * The least a backlog that has drained nothing since `before` will take:
 * fewer than one image left in that time, so each of those in flight now
 * takes at least as long. What the wait is before any drain rate is known.
 */
export const stalledWaitSeconds = (before: BacklogSample, after: BacklogSample): number => (after.inFlight * (after.at - before.at)) / 1000;

/** A wait as a client is told it: whole seconds, at most a day (null stays unknown). */
export const reportedWait = (seconds: number | null): number | null =>
  seconds === null ? null : Math.min(LONGEST_REPORTED_WAIT_SECONDS, Math.ceil(seconds));

/**
 * How long a tenant over its limit of images in flight should wait before
 * trying again: until `excess` of its images have drained, at its share of the
 * drain rate (its images among all those in flight, which the pipeline takes
 * in turn). From 1 s to LONGEST_RETRY_AFTER_SECONDS; the longest when the
 * rate is not known or nothing drains.
 */
export function retryAfterSeconds({
  excess,
  tenantInFlight,
  inFlight,
  rate,
}: {
  readonly excess: number;
  readonly tenantInFlight: number;
  readonly inFlight: number;
  readonly rate: number | null;
}): number {
  const share = tenantInFlight / Math.max(inFlight, tenantInFlight, 1);
  const tenantRate = (rate ?? 0) * share;
  const seconds = tenantRate === 0 ? Infinity : excess / tenantRate;
  return Math.max(1, Math.min(LONGEST_RETRY_AFTER_SECONDS, Math.ceil(seconds)));
}
