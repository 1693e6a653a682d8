import type { Topic } from '../events/topics.ts';

/** A message as published: the key (an image id) decides the partition, so one key's messages stay in order. */
export interface BusMessage {
  readonly key: string;
  readonly value: Buffer;
  readonly headers?: Readonly<Record<string, string>>;
}

export interface DeliveredMessage extends BusMessage {
  readonly topic: Topic;
  readonly partition: number;
  /** Position in the partition, as a decimal string (Kafka offsets exceed 2^53). */
  readonly offset: string;
}

export interface DeliveryContext {
  /** Keeps the consumer's membership alive during long work; call it at least every few seconds. */
  heartbeat(): Promise<void>;
}

/**
 * Handles one message. Resolving commits it; rejecting leaves it uncommitted,
 * so it is delivered again. The pipeline runner catches everything it can,
 * so a rejection means "stop here and retry later", never "skip".
 */
export type MessageHandler = (message: DeliveredMessage, context: DeliveryContext) => Promise<void>;

/** How a subscription hands messages to its handler. */
export interface SubscribeOptions {
  /**
   * Messages in the handler at once (1 by default). Messages of different keys
   * may be handled together; one key's messages stay sequential, in order; and
   * a group's position never passes a message still unfinished, so a crash
   * redelivers it. Kafka runs one partition's messages in sequence, so its
   * concurrency is across partitions (keys that share one wait for each other).
   */
  readonly concurrency?: number;
}

export interface Subscription {
  /** Stops consuming; resolves after the messages in hand are handled (or abandoned uncommitted). */
  stop(): Promise<void>;
}

/**
 * The event bus port. Delivery is at least once: every published message
 * reaches every group's handler once or more, in key order within a topic.
 */
export interface EventBus {
  /** Resolves once the messages are durable (Kafka: acknowledged by all in-sync replicas). */
  publish(topic: Topic, messages: readonly BusMessage[]): Promise<void>;
  /**
   * Joins consumer group `group` on `topics`. A group sees each message once or
   * more; two groups each see every message. A new group starts at the beginning.
   * Resolves once the group is consuming.
   */
  subscribe(group: string, topics: readonly Topic[], handler: MessageHandler, options?: SubscribeOptions): Promise<Subscription>;
  /** Rejects when the bus cannot be reached. */
  checkHealth(): Promise<void>;
  /** Stops every subscription and releases connections. */
  close(): Promise<void>;
}
