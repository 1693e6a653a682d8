/**
 * A token bucket per tenant, in this process: `perSecond` requests a second on
 * average, with bursts of up to one second's worth.
 */
export class RateLimiter {
  readonly #buckets = new Map<string, { tokens: number; at: number }>();

  constructor(private readonly now: () => number = () => performance.now()) {}

  /** Takes one request's token: 0 when allowed, else the seconds until the next token. */
  take(key: string, perSecond: number): number {
    const now = this.now();
    const capacity = Math.max(1, perSecond);
    const bucket = this.#buckets.get(key) ?? { tokens: capacity, at: now };
    bucket.tokens = Math.min(capacity, bucket.tokens + ((now - bucket.at) / 1000) * perSecond);
    bucket.at = now;
    this.#buckets.set(key, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return (1 - bucket.tokens) / perSecond;
  }
}
