import type { Logger } from '../lib/logger.ts';
import type { DeliveryAttempt } from './attempt-delivery.ts';

/**
 * Deliveries to attempt, outside the consumer's path: at most `concurrency`
 * attempts in flight, each delivery queued once however often it is added.
 * Past `maxQueued` an added delivery is left to the due-delivery poller,
 * which finds it in the store; so memory stays bounded behind slow receivers.
 */
export class DeliveryQueue {
  readonly #waiting: string[] = [];
  /** Queued or in flight. */
  readonly #known = new Set<string>();
  readonly #inFlight = new Set<Promise<void>>();
  #stopped = false;

  constructor(
    private readonly attempt: DeliveryAttempt,
    private readonly concurrency: number,
    private readonly maxQueued: number,
    private readonly log: Logger,
  ) {}

  add(deliveryId: string): void {
    if (this.#stopped || this.#known.has(deliveryId) || this.#waiting.length >= this.maxQueued) return;
    this.#known.add(deliveryId);
    this.#waiting.push(deliveryId);
    this.#startNext();
  }

  /** Takes no more; resolves once the attempts in flight have ended (each within its deadline). */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#waiting.length = 0;
    await Promise.all(this.#inFlight);
  }

  #startNext(): void {
    while (this.#inFlight.size < this.concurrency) {
      const id = this.#waiting.shift();
      if (id === undefined) return;
      const running: Promise<void> = this.attempt(id)
        .catch((error: unknown) => {
          // The store did not answer: the delivery stays due, and the poller offers it again.
          this.log.warn({ err: error, deliveryId: id }, 'webhook delivery attempt could not be made');
        })
        .finally(() => {
          this.#inFlight.delete(running);
          this.#known.delete(id);
          if (!this.#stopped) this.#startNext();
        });
      this.#inFlight.add(running);
    }
  }
}
