import { TOPICS, type Topic } from '../events/topics.ts';
import { decodeEvent, encodeEvent, InvalidEventError, type ImageEvent } from '../events/envelope.ts';
import { toDeadLetter } from '../events/dead-letter.ts';
import { DependencyUnavailableError, isRetriable } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { BusMessage, DeliveredMessage, DeliveryContext, EventBus, Subscription } from '../ports/event-bus.ts';
import { Histogram, type Registry } from 'prom-client';
import { sharedMetric } from '../metrics.ts';
import { backoffDelay, sleepWithHeartbeat, type RetryPolicy } from './retry.ts';

export interface HandlerContext {
  readonly log: Logger;
  /** For work that may outlast the consumer session timeout; the runner also beats every few seconds. */
  readonly heartbeat: () => Promise<void>;
}

/** A message to publish, and the topic it goes to. */
export interface Publication {
  readonly topic: Topic;
  readonly message: BusMessage;
}

/** An event as a message: on the topic of its type, keyed by its image id. */
export const eventPublication = (event: ImageEvent): Publication => ({
  topic: event.type,
  message: { key: event.imageId, value: encodeEvent(event) },
});

/** Consumer logic: one validated event in, the events to publish out (possibly none). */
export type EventHandler = (event: ImageEvent, context: HandlerContext) => Promise<readonly ImageEvent[]>;

interface RunnerOptions {
  readonly bus: EventBus;
  readonly log: Logger;
  /** The consumer group: one per service, so each service sees every event once or more. */
  readonly group: string;
  readonly topics: readonly Topic[];
  readonly retry: RetryPolicy;
  /** Where the handling durations and the consumer lag are recorded. */
  readonly metrics: Registry;
  /** Messages handled at once, one image's in order (the bus's SubscribeOptions); 1 by default. */
  readonly concurrency?: number;
}

export interface ConsumerOptions extends RunnerOptions {
  readonly handle: EventHandler;
  /** The events that report a message this consumer gave up on (image.failed for a pipeline stage); none by default. */
  readonly reportGivenUp?: GivenUpReporter;
}

/** A consumer of messages as they arrive, headers and bytes, rather than as validated events (an upstream's requests). */
export interface MessageConsumerOptions extends RunnerOptions {
  readonly handle: (message: DeliveredMessage, context: HandlerContext) => Promise<readonly Publication[]>;
  /** What to publish about a message given up on, knowing its last failure; nothing by default. */
  readonly reportGivenUp?: (message: DeliveredMessage, givenUp: GivenUp, failure: unknown) => readonly Publication[];
}

/** How long handling took, retries included, and how old events were when they were consumed. */
function consumerMetrics(registry: Registry) {
  return {
    duration: sharedMetric(
      registry,
      'progimage_stage_duration_seconds',
      (registers) =>
        new Histogram({
          name: 'progimage_stage_duration_seconds',
          help: 'Time to handle one event, retries included, by consumer group and outcome (handled, given_up)',
          labelNames: ['group', 'outcome'] as const,
          buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
          registers,
        }),
    ),
    lag: sharedMetric(
      registry,
      'progimage_consumer_lag_seconds',
      (registers) =>
        new Histogram({
          name: 'progimage_consumer_lag_seconds',
          help: 'Age of an event (now minus its time) when its consumer group takes it up',
          labelNames: ['group'] as const,
          buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600],
          registers,
        }),
    ),
  };
}

export interface GivenUp {
  readonly reason: string;
  /** Whether the input itself is at fault, rather than a server that kept failing. */
  readonly permanent: boolean;
  readonly attempts: number;
}

export type GivenUpReporter = (event: ImageEvent, givenUp: GivenUp) => readonly ImageEvent[];

const HEARTBEAT_INTERVAL_MS = 3000;

/** Runs `work` while beating the consumer's heart, so a slow image never triggers a rebalance. */
async function withHeartbeat<T>(context: DeliveryContext, work: () => Promise<T>): Promise<T> {
  const timer = setInterval(() => {
    void context.heartbeat().catch(() => undefined);
  }, HEARTBEAT_INTERVAL_MS);
  try {
    return await work();
  } finally {
    clearInterval(timer);
  }
}

async function publishAll(bus: EventBus, publications: readonly Publication[]): Promise<void> {
  for (const { topic, message } of publications) await bus.publish(topic, [message]);
}

/** What the runner needs to know of one kind of consumer: how it reads a message, names it, handles it and reports giving up. */
interface Reader<I> {
  /** Throws InvalidEventError for a message that can never be handled: it goes straight to the dead-letter topic. */
  read(message: DeliveredMessage): I;
  /** Fields that name the input in log lines, and when it was published (for the lag metric), if known. */
  describe(input: I): { readonly bindings: Readonly<Record<string, string>>; readonly sentAt?: string };
  handle(input: I, context: HandlerContext): Promise<readonly Publication[]>;
  reportGivenUp?(input: I, givenUp: GivenUp, failure: unknown): readonly Publication[];
}

/**
 * The one consuming loop every processor and the catalog share: read,
 * handle, publish the outputs, and only then let the offset be committed.
 * Retriable failures are retried with backoff and jitter, an unavailable
 * server (DependencyUnavailableError) for as long as it is down; what still fails,
 * and any unreadable message, goes to the dead-letter topic (and is reported:
 * for a pipeline stage as image.failed) so that one bad message never stops a partition.
 */
function run<I>(options: RunnerOptions, reader: Reader<I>): Promise<Subscription> {
  const { bus, log, group, retry } = options;
  const metrics = consumerMetrics(options.metrics);

  const giveUp = async (message: DeliveredMessage, reason: string, attempts: number, report: () => readonly Publication[]) => {
    log.warn({ topic: message.topic, key: message.key, offset: message.offset, reason, attempts }, 'giving up on message');
    const deadLetter = toDeadLetter(message, group, reason, attempts);
    await bus.publish(TOPICS.deadLetter, [{ key: message.key, value: Buffer.from(JSON.stringify(deadLetter)) }]);
    await publishAll(bus, report());
  };

  const handleMessage = async (message: DeliveredMessage, delivery: DeliveryContext): Promise<void> => {
    let input: I;
    try {
      input = reader.read(message);
    } catch (error) {
      const reason = error instanceof InvalidEventError ? error.message : String(error);
      await giveUp(message, reason, 0, () => []);
      return;
    }
    const { bindings, sentAt } = reader.describe(input);
    const context: HandlerContext = { log: log.child(bindings), heartbeat: () => delivery.heartbeat() };
    if (sentAt !== undefined) metrics.lag.observe({ group }, Math.max(0, Date.now() - Date.parse(sentAt)) / 1000);
    const endTimer = metrics.duration.startTimer({ group });
    for (let attempt = 1; ; attempt += 1) {
      try {
        const outputs = await withHeartbeat(delivery, () => reader.handle(input, context));
        await publishAll(bus, outputs);
        endTimer({ outcome: 'handled' });
        return;
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        const retriable = isRetriable(error);
        // A server that does not answer (clamd, S3, the catalog store) is waited for, however long:
        // giving up would fail every image that arrives while it is down.
        const waitsForServer = error instanceof DependencyUnavailableError;
        if (!retriable || (!waitsForServer && attempt >= retry.attempts)) {
          const givenUp = { reason, permanent: !retriable, attempts: attempt };
          await giveUp(message, reason, attempt, () => reader.reportGivenUp?.(input, givenUp, error) ?? []);
          endTimer({ outcome: 'given_up' });
          return;
        }
        if (waitsForServer && attempt >= retry.attempts) context.log.warn({ attempt, reason }, 'waiting for a server that does not answer');
        else context.log.info({ attempt, reason }, 'retrying after a transient failure');
        await sleepWithHeartbeat(backoffDelay(retry, attempt), () => delivery.heartbeat());
      }
    }
  };

  return bus.subscribe(group, options.topics, handleMessage, { concurrency: options.concurrency ?? 1 });
}

/** Consumes validated events: an invalid one goes to the dead-letter topic only. */
export function runConsumer(options: ConsumerOptions): Promise<Subscription> {
  const { handle, reportGivenUp } = options;
  return run<ImageEvent>(options, {
    read: (message) => decodeEvent(message.value),
    describe: (event) => ({ bindings: { imageId: event.imageId, eventId: event.eventId }, sentAt: event.time }),
    handle: async (event, context) => (await handle(event, context)).map(eventPublication),
    reportGivenUp: (event, givenUp) => (reportGivenUp?.(event, givenUp) ?? []).map(eventPublication),
  });
}

/** Consumes messages as they arrive, for a consumer that must see their headers and exact bytes (a signature covers them). */
export function runMessageConsumer(options: MessageConsumerOptions): Promise<Subscription> {
  const { handle, reportGivenUp } = options;
  return run<DeliveredMessage>(options, {
    read: (message) => message,
    describe: (message) => ({ bindings: { key: message.key, offset: message.offset } }),
    handle,
    reportGivenUp: (message, givenUp, failure) => reportGivenUp?.(message, givenUp, failure) ?? [],
  });
}
