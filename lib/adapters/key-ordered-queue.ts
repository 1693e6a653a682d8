/**
 * Messages waiting for a handler, handed over up to `concurrency` at once and
 * never two of one key: each key's messages run one after the other, in the
 * order they were added, while other keys' go past a key that waits. Both
 * event buses hand over their messages through it.
 */
export class KeyOrderedQueue<T> {
  /** Added and not handed over yet, in the order added. */
  readonly #waiting: T[] = [];
  /** Keys with an item in hand: their next item waits for it. */
  readonly #busyKeys = new Set<string>();
  readonly #inHand = new Set<Promise<void>>();

  constructor(
    private readonly concurrency: number,
    private readonly keyOf: (item: T) => string,
    /** Handles an item; its rejection is the caller's to observe, the queue only moves on. */
    private readonly handle: (item: T) => Promise<void>,
    /** Called whenever an item settles, after the queue handed over what it could. */
    private readonly onSettled: () => void = () => undefined,
  ) {}

  /** Items added and not handed over yet. */
  get waitingCount(): number {
    return this.#waiting.length;
  }

  add(item: T): void {
    this.#waiting.push(item);
    this.#handOver();
  }

  /** Resolves once nothing is in hand or waiting. */
  async drained(): Promise<void> {
    while (this.#inHand.size > 0) await Promise.allSettled(this.#inHand);
  }

  /** Resolves once the items in hand now have settled; the waiting ones are not handed over by this. */
  async settled(): Promise<void> {
    await Promise.allSettled(this.#inHand);
  }

  /** Starts the earliest waiting item of each key not in hand, up to the concurrency. */
  #handOver(): void {
    for (let index = 0; index < this.#waiting.length && this.#inHand.size < this.concurrency;) {
      const item = this.#waiting[index] as T;
      const key = this.keyOf(item);
      if (this.#busyKeys.has(key)) {
        index += 1;
        continue;
      }
      this.#waiting.splice(index, 1);
      this.#busyKeys.add(key);
      const handling: Promise<void> = this.handle(item)
        .catch(() => undefined)
        .finally(() => {
          this.#busyKeys.delete(key);
          this.#inHand.delete(handling);
          this.#handOver();
          this.onSettled();
        });
      this.#inHand.add(handling);
    }
  }
}
