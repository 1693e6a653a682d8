import type { Logger } from '../lib/logger.ts';
import type { DeliveryAttempt } from './attempt-delivery.ts';
import type { DeliveryTask } from './delivery-task.ts';

/**
 * Deliveries to attempt, outside the consumer's path: at most `concurrency`
 * attempts in flight, each delivery queued once however often it is added.
 * Past `maxQueued` an added delivery is left to the due-delivery poller,
 * which finds it in the store (once the claim its recorder made lapses); so
 * memory stays bounded behind slow receivers.
 */
export class DeliveryQueue {
  readonly #waiting: DeliveryTask[] = [];
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

  add(task: DeliveryTask): void {
    if (this.#stopped || this.#known.has(task.id) || this.#waiting.length >= this.maxQueued) return;
    this.#known.add(task.id);
    this.#waiting.push(task);
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
      const task = this.#waiting.shift();
      if (task === undefined) return;
      const { id } = task;
      const running: Promise<void> = this.attempt(task)
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
