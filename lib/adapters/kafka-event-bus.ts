import kafkajs, { Partitioners, logLevel } from 'kafkajs';
import type { Admin, Consumer, ConsumerRunConfig, EachBatchPayload, IHeaders, Kafka, KafkaMessage, Producer } from 'kafkajs';
import type { KafkaConfig } from '../config/index.ts';
import { ConcurrencyLimit } from '../concurrency.ts';
import { DependencyUnavailableError } from '../errors.ts';
import { ALL_TOPICS, type Topic } from '../events/topics.ts';
import { createKafkaClient, type KafkaClientOptions } from '../kafka/client.ts';
import { waitForGroupCoordinator } from '../kafka/group-coordinator.ts';
import { namespaced } from '../kafka/names.ts';
import { ensureTopics } from '../kafka/topics.ts';
import { RestartingSubscription } from '../kafka/restarting-subscription.ts';
import { KeyOrderedQueue } from './key-ordered-queue.ts';
import type { BusMessage, DeliveredMessage, EventBus, MessageHandler, SubscribeOptions, Subscription } from '../ports/event-bus.ts';

// kafkajs is CommonJS and spreads its error classes into module.exports, which Node cannot name-import.
const { KafkaJSError } = kafkajs;

/** Each subscription's consumer: the broker drops a member it has not heard from for `sessionTimeout` ms. */
const CONSUMER_SETTINGS = {
  sessionTimeout: 30_000,
  heartbeatInterval: 3_000,
  /**
   * How long a fetch waits when there is no data (a message that comes is
   * returned at once). Twice the Java client's default: each idle consumer
   * fetches once a second, which halved the idle layout's fetch cost (46 ms
   * of CPU a second for its ten consumers, Kafka's share included). stop()
   * waits for the fetch in flight, up to this long.
   */
  maxWaitTimeInMs: 1000,
  allowAutoTopicCreation: false,
} as const;

/**
 * Resolved offsets are committed once this long has passed since the last
 * commit (within a batch, at its end, or on an idle fetch), and always when the
 * consumer stops or its group rebalances: the Java consumer's
 * auto.commit.interval.ms and its default. kafkajs alone would also commit after
 * every batch, one request per message at a low rate; patches/ says why not. A
 * crash repeats at most about this much finished work.
 */
const AUTO_COMMIT_INTERVAL_MS = 5_000;

/** kafkajs errors that mean the cluster could not be reached or did not answer in time. */
const UNREACHABLE = new Set([
  'KafkaJSConnectionError',
  'KafkaJSConnectionClosedError',
  'KafkaJSRequestTimeoutError',
  'KafkaJSNoBrokerAvailableError',
  'KafkaJSBrokerNotFound',
  'KafkaJSNumberOfRetriesExceeded',
  'KafkaJSGroupCoordinatorNotFound',
]);

function isUnreachable(error: unknown): boolean {
  for (let cause = error; cause instanceof Error; cause = cause.cause) {
    if (UNREACHABLE.has(cause.name)) return true;
  }
  return false;
}

/** Connection failures become `DependencyUnavailableError`; anything else (a bug, a bad request) passes unchanged. */
function toBusError(error: unknown, action: string): unknown {
  if (!isUnreachable(error)) return error;
  const reason = error instanceof Error ? error.message : String(error);
  return new DependencyUnavailableError(`Kafka: could not ${action}: ${reason}`, error);
}

/**
 * A handler's rejection, wrapped so that kafkajs treats it as its own retriable
 * error: it does not log it, leaves the message's offset unresolved, and fetches
 * the partition again from that message after a backoff. Left as the handler's
 * own error, a TypeError or a non-retriable error would stop the consumer for good.
 */
class HandlerRejectedError extends KafkaJSError {
  override readonly name = 'HandlerRejectedError';

  constructor(message: DeliveredMessage, cause: unknown) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super(`handler rejected ${message.topic}[${message.partition}]@${message.offset}: ${reason}`, { retriable: true });
    // kafkajs's constructor overwrites `cause` with its own (absent) metadata.
    Object.defineProperty(this, 'cause', { value: cause });
  }
}

/** Kafka headers may repeat or be binary; ProgImage's are single UTF-8 strings, the last one winning. */
function decodeHeaders(headers: IHeaders | undefined): Record<string, string> {
  const decoded: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    const last = Array.isArray(value) ? value.at(-1) : value;
    if (last !== undefined) decoded[name] = last.toString();
  }
  return decoded;
}

/**
 * Which of a batch's messages are handled: the offset to resolve is the last
 * of the unbroken run of handled messages from the batch's start.
 */
class BatchProgress {
  readonly #handled: boolean[];
  /** The index of the first message not handled yet. */
  #next = 0;

  constructor(private readonly messages: readonly KafkaMessage[]) {
    this.#handled = messages.map(() => false);
  }

  /** Marks the message at `index` handled; returns the offset that may now be resolved, if the run grew. */
  finish(index: number): string | undefined {
    this.#handled[index] = true;
    const before = this.#next;
    while (this.#handled[this.#next] === true) this.#next += 1;
    return this.#next === before ? undefined : this.messages[this.#next - 1]?.offset;
  }
}

/**
 * The event bus on Kafka. Publishing uses one idempotent producer and waits
 * for all in-sync replicas; each subscription is one kafkajs consumer that
 * hands over up to `concurrency` messages at once, from one partition or
 * several (kafkajs's partitionsConsumedConcurrently), never two of one key:
 * one key's messages arrive in order.
 */
export class KafkaEventBus implements EventBus {
  private readonly subscriptions = new Set<RestartingSubscription>();
  private closed = false;

  constructor(
    private readonly kafka: Kafka,
    private readonly producer: Producer,
    private readonly admin: Admin,
    /** Fails fast (no retries, no logging) so that a readiness probe answers promptly. */
    private readonly healthAdmin: Admin,
    private readonly namespace: KafkaConfig['namespace'],
  ) {}

  async publish(topic: Topic, messages: readonly BusMessage[]): Promise<void> {
    this.assertOpen();
    if (messages.length === 0) return;
    try {
      await this.producer.send({
        topic: namespaced(topic, this.namespace),
        acks: -1,
        messages: messages.map((message) => ({
          key: message.key,
          value: message.value,
          headers: { ...message.headers },
        })),
      });
    } catch (error) {
      throw toBusError(error, `publish to ${topic}`);
    }
  }

  async subscribe(group: string, topics: readonly Topic[], handler: MessageHandler, options: SubscribeOptions = {}): Promise<Subscription> {
    this.assertOpen();
    if (topics.length === 0) throw new Error(`Consumer group ${group} must subscribe to at least one topic`);
    const { concurrency = 1 } = options;
    if (!Number.isInteger(concurrency) || concurrency < 1)
      throw new Error(`concurrency: expected a whole number of messages from 1, got ${concurrency}`);
    const groupId = namespaced(group, this.namespace);
    const subscription: RestartingSubscription = new RestartingSubscription(
      group,
      (attach, stoppedForGood) =>
        this.startConsumer(groupId, topics, {
          attach,
          stoppedForGood,
          isStopping: (): boolean => subscription.isStopping,
          run: {
            eachBatch,
            eachBatchAutoResolve: false,
            autoCommitInterval: AUTO_COMMIT_INTERVAL_MS,
            partitionsConsumedConcurrently: concurrency,
          },
        }),
      this.kafka.logger().namespace('Subscription'),
      (stopped) => this.subscriptions.delete(stopped),
    );

    /**
     * Each fetched batch (one partition's messages) goes through a key-ordered queue: up to
     * `concurrency` messages in the handler at once across the subscription's partitions, never two
     * of one key. The partition's offset is resolved up to the message before the lowest unfinished
     * one, so a crash or a rejection repeats unfinished work and never skips it. After a rejection
     * no new message starts; once those in hand settle, the batch rejects and kafkajs fetches the
     * partition again from its resolved offset.
     */
    const inHandler = new ConcurrencyLimit(concurrency);
    const eachBatch = async (payload: EachBatchPayload): Promise<void> => {
      const { batch } = payload;
      const progress = new BatchProgress(batch.messages);
      let rejection: Error | undefined;
      const queue = new KeyOrderedQueue<{ readonly message: KafkaMessage; readonly index: number }>(
        concurrency,
        ({ message }) => message.key?.toString() ?? '',
        async ({ message, index }) => {
          if (rejection !== undefined || !payload.isRunning() || payload.isStale()) return;
          try {
            await inHandler.run(() => handleMessage(payload, message));
            const resolvable = progress.finish(index);
            if (resolvable !== undefined) payload.resolveOffset(resolvable);
            await payload.commitOffsetsIfNecessary();
            await payload.heartbeat();
          } catch (error) {
            rejection ??= error instanceof Error ? error : new Error(String(error));
          }
        },
      );
      batch.messages.forEach((message, index) => {
        queue.add({ message, index });
      });
      await queue.drained();
      if (rejection !== undefined) throw rejection;
    };
    const handleMessage = async (payload: EachBatchPayload, message: KafkaMessage): Promise<void> => {
      const { topic, partition } = payload.batch;
      const delivered: DeliveredMessage = {
        topic: this.asTopic(topic, topics),
        partition,
        offset: message.offset,
        key: message.key?.toString() ?? '',
        value: message.value ?? Buffer.alloc(0),
        headers: decodeHeaders(message.headers),
      };
      if (subscription.isStopping) throw new HandlerRejectedError(delivered, new Error('the subscription is stopping'));
      let heartbeatFailure: unknown;
      const heartbeat = async (): Promise<void> => {
        try {
          await payload.heartbeat();
        } catch (error) {
          heartbeatFailure = error;
          throw error;
        }
      };
      try {
        await handler(delivered, { heartbeat });
      } catch (error) {
        // A heartbeat's own failure (e.g. "the group is rebalancing") tells kafkajs to rejoin: pass it through.
        throw error === heartbeatFailure ? error : new HandlerRejectedError(delivered, error);
      }
    };

    try {
      await subscription.start();
    } catch (error) {
      await subscription.stop().catch(() => undefined);
      throw toBusError(error, `join consumer group ${group}`);
    }
    this.subscriptions.add(subscription);
    return subscription;
  }

  /** One consumer of `groupId`: resolves once it has joined the group (RestartingSubscription's StartConsumer). */
  private async startConsumer(
    groupId: string,
    topics: readonly Topic[],
    hooks: {
      readonly attach: (consumer: Consumer) => void;
      readonly stoppedForGood: (error: Error) => void;
      readonly isStopping: () => boolean;
      readonly run: ConsumerRunConfig;
    },
  ): Promise<void> {
    const consumer: Consumer = this.kafka.consumer({
      groupId,
      ...CONSUMER_SETTINGS,
      // Never come back to life after stop() raced with a crash-and-restart.
      retry: { restartOnFailure: () => Promise.resolve(!hooks.isStopping()) },
    });
    hooks.attach(consumer);
    let hasJoined = false;
    const joined = new Promise<void>((resolve, reject) => {
      consumer.on(consumer.events.GROUP_JOIN, () => {
        hasJoined = true;
        resolve();
      });
      consumer.on(consumer.events.CRASH, ({ payload }) => {
        // A crash kafkajs restarts from (a cluster still electing its group coordinator or topic leaders,
        // as a new one does for a while) is waited out: the join comes with the restart.
        if (payload.restart) return;
        if (hasJoined) hooks.stoppedForGood(payload.error);
        else reject(payload.error);
      });
    });
    joined.catch(() => undefined); // observed below, unless the start failed before it
    await waitForGroupCoordinator(this.admin, groupId);
    await consumer.connect();
    await consumer.subscribe({ topics: topics.map((topic) => namespaced(topic, this.namespace)), fromBeginning: true });
    await consumer.run(hooks.run);
    await joined;
  }

  async checkHealth(): Promise<void> {
    this.assertOpen();
    const failed = [...this.subscriptions].find((subscription) => subscription.failure !== undefined);
    if (failed?.failure !== undefined) {
      throw new DependencyUnavailableError(`Kafka: consumer group ${failed.group} stopped: ${failed.failure.message}`, failed.failure);
    }
    try {
      await this.healthAdmin.connect();
      await this.healthAdmin.describeCluster();
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new DependencyUnavailableError(`Kafka: cluster unreachable: ${reason}`, error);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled([...this.subscriptions].map((subscription) => subscription.stop()));
    await Promise.allSettled([this.producer.disconnect(), this.admin.disconnect(), this.healthAdmin.disconnect()]);
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('The Kafka event bus is closed');
  }

  /** The project topic a message came from, given the cluster's name for it. */
  private asTopic(name: string, topics: readonly Topic[]): Topic {
    const topic = topics.find((candidate) => namespaced(candidate, this.namespace) === name);
    if (topic === undefined) throw new Error(`Kafka delivered a message of topic ${name}, which was not subscribed`);
    return topic;
  }
}

/**
 * Connects to Kafka and creates the project's topics that are missing.
 * `logLevel` is kafkajs's own logging (WARN unless told).
 * @throws DependencyUnavailableError when no broker answers.
 */
export async function createKafkaEventBus(
  config: KafkaConfig,
  options: Pick<KafkaClientOptions, 'logLevel' | 'logger'> = {},
): Promise<KafkaEventBus> {
  const kafka = createKafkaClient(config, options);
  const producer = kafka.producer({
    idempotent: true,
    allowAutoTopicCreation: false,
    // Not capped: after giving up on a request the broker may still have written, kafkajs would reuse
    // its sequence number for the next batch, which the broker then drops as a duplicate. kafkajs
    // still fails a send once it cannot reconnect at all, or on a non-retriable error.
    retry: { retries: Number.MAX_SAFE_INTEGER },
    // Kafka's Java-compatible murmur2 partitioning, named to silence kafkajs's v2 migration warning.
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  const admin = kafka.admin();
  const healthAdmin = createKafkaClient(config, { retries: 0, logLevel: logLevel.NOTHING }).admin();
  try {
    await Promise.all([producer.connect(), admin.connect()]);
    await ensureTopics(
      admin,
      ALL_TOPICS.map((topic) => namespaced(topic, config.namespace)),
      config,
    );
  } catch (error) {
    await Promise.allSettled([producer.disconnect(), admin.disconnect()]);
    throw toBusError(error, `connect to ${config.brokers.join(',')}`);
  }
  return new KafkaEventBus(kafka, producer, admin, healthAdmin, config.namespace);
}
