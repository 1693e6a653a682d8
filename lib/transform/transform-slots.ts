import { HttpError } from '../http/errors.ts';

/**
 * How many transformations a process runs at once, and how many may wait for
 * a turn. Past that the request is refused at once (503, Retry-After) rather
 * than queued without bound: a client retrying later costs less than a
 * process holding thousands of decoded images in memory.
 */
export class TransformSlots {
  #running = 0;
  readonly #waiting: (() => void)[] = [];

  constructor(
    readonly concurrency: number,
    readonly queueLength: number,
  ) {}

  get running(): number {
    return this.#running;
  }

  get waiting(): number {
    return this.#waiting.length;
  }

  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.#running < this.concurrency) {
      this.#running += 1;
    } else {
      if (this.#waiting.length >= this.queueLength) {
        throw new HttpError(
          503,
          'overloaded',
          `${this.#running} transformations are running and ${this.#waiting.length} waiting: try again shortly`,
          { running: this.#running, waiting: this.#waiting.length },
          { 'Retry-After': '1' },
        );
      }
      // The slot is handed over by the transformation that finishes (the count does not change).
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    }
    try {
      return await work();
    } finally {
      const next = this.#waiting.shift();
      if (next === undefined) this.#running -= 1;
      else next();
    }
  }
}
