import { setTimeout as sleep } from 'node:timers/promises';
import type { Subscription } from '../ports/event-bus.ts';

/** A consumer that has joined its group. */
export interface RunningConsumer {
  /** Leaves the group; idempotent. */
  disconnect(): Promise<void>;
}

/**
 * Starts one consumer of the subscription: resolves once it has joined its
 * group; calls `stoppedForGood` if it later stops on its own and will not
 * restart itself. `attach` is given the consumer before it connects, so that
 * a stop() during the start can disconnect it.
 */
export type StartConsumer = (attach: (consumer: RunningConsumer) => void, stoppedForGood: (error: Error) => void) => Promise<void>;

export interface RestartDelays {
  readonly firstMs: number;
  readonly maxMs: number;
}

/** Waits before starting a stopped consumer again: doubling from 1 s up to 30 s. */
export const RESTART_DELAYS: RestartDelays = { firstMs: 1_000, maxMs: 30_000 };

export interface RestartLog {
  readonly error: (message: string, extra?: object) => void;
  readonly info: (message: string, extra?: object) => void;
}

/**
 * A subscription whose consumer is started again whenever it stops for good.
 * kafkajs restarts a consumer after a retriable crash only; after a
 * non-retriable one (KafkaJSGroupCoordinatorNotFound while a restarted broker
 * loads its groups: https://github.com/tulios/kafkajs/issues/1630) it stays
 * stopped, and every message after it would wait forever. Here a new consumer
 * takes over from the last committed offsets; meanwhile `failure` says why the
 * group is not consuming, for the readiness probe.
 */
export class RestartingSubscription implements Subscription {
  /** Why the group is not consuming now; undefined while it is. */
  failure: Error | undefined;
  #consumer: RunningConsumer | undefined;
  #stopping: Promise<void> | undefined;
  #restarting = false;
  /** A consumer started by the restart in progress stopped for good too, after joining: restart again. */
  #stoppedAgain: Error | undefined;

  constructor(
    readonly group: string,
    private readonly startConsumer: StartConsumer,
    private readonly log: RestartLog,
    private readonly onStopped: (subscription: RestartingSubscription) => void,
    private readonly delays: RestartDelays = RESTART_DELAYS,
  ) {}

  get isStopping(): boolean {
    return this.#stopping !== undefined;
  }

  /** Starts the first consumer; rejects (and leaves nothing running) if it does not join. */
  async start(): Promise<void> {
    try {
      await this.startConsumer(
        (consumer) => {
          this.#consumer = consumer;
        },
        (error) => {
          this.#stoppedForGood(error);
        },
      );
    } catch (error) {
      await this.#consumer?.disconnect().catch(() => undefined);
      throw error;
    }
    // A stop() during the start disconnected the consumer as it was then; make sure it stays so.
    if (this.isStopping) await this.#consumer?.disconnect();
  }

  /** kafkajs's disconnect waits for the batch in hand, commits what was handled and leaves the group. */
  stop(): Promise<void> {
    this.#stopping ??= (this.#consumer?.disconnect() ?? Promise.resolve()).finally(() => {
      this.onStopped(this);
    });
    return this.#stopping;
  }

  #stoppedForGood(error: Error): void {
    if (this.isStopping) return;
    if (this.#restarting) {
      this.#stoppedAgain = error;
      return;
    }
    this.failure = error;
    this.#restarting = true;
    void this.#restart().finally(() => {
      this.#restarting = false;
      const again = this.#stoppedAgain;
      this.#stoppedAgain = undefined;
      if (again !== undefined) this.#stoppedForGood(again);
    });
  }

  async #restart(): Promise<void> {
    for (let delayMs = this.delays.firstMs; ; delayMs = Math.min(delayMs * 2, this.delays.maxMs)) {
      const reason = this.failure?.message ?? 'unknown';
      this.log.error(`consumer group ${this.group} stopped (${reason}); starting a new consumer in ${delayMs} ms`, { group: this.group });
      await sleep(delayMs);
      if (this.isStopping) return;
      try {
        await this.start();
        this.failure = undefined;
        this.log.info(`consumer group ${this.group} consumes again`, { group: this.group });
        return;
      } catch (error) {
        this.failure = error instanceof Error ? error : new Error(String(error));
      }
    }
  }
}
