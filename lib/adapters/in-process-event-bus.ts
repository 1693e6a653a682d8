import { mkdir, open, readFile, rename, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { syncDirectory, writeFileDurably } from '../durable-files.ts';
import { ALL_TOPICS, type Topic } from '../events/topics.ts';
import type {
  BusMessage,
  DeliveredMessage,
  DeliveryContext,
  EventBus,
  MessageHandler,
  Subscription,
} from '../ports/event-bus.ts';

/**
 * The embedded event bus: the same at-least-once contract as Kafka, for one
 * process, durable under `<dataDir>/bus`.
 *
 * - Each topic is one append-only log, `bus/<topic>.log`, one JSON line per
 *   message, fsync'd before publish() resolves. It models a topic with a
 *   single partition, so every key's messages stay in publish order.
 * - Each consumer group keeps, in `bus/groups/<group>.json`, the offset of the
 *   next message to hand over per topic, replaced atomically after each
 *   handled message.
 * - A subscription hands over one message at a time (round robin across its
 *   topics) and retries a rejected message after a backoff, never skipping it.
 * - One subscription per group and topic: a second one in the same process is
 *   refused (there is one partition to share, as one Kafka partition goes to
 *   one member of a group).
 * - One process per data directory.
 */

const storedMessage = z.object({
  key: z.string(),
  value: z.base64(),
  headers: z.record(z.string(), z.string()),
});
type StoredMessage = z.infer<typeof storedMessage>;

const groupOffsets = z.record(z.string(), z.number().int().nonnegative());

const RETRY_BACKOFF_MS = { first: 100, max: 5_000 };

/** One topic's log: the file and, in memory, every message it holds. */
class TopicLog {
  /** Appends run one after another, so the file and `messages` keep the same order. */
  private appending: Promise<void> = Promise.resolve();

  private constructor(
    readonly topic: Topic,
    private readonly file: FileHandle,
    private size: number,
    readonly messages: StoredMessage[],
  ) {}

  /**
   * Reads the log. A last line without its newline is what a crash in the
   * middle of an append leaves behind: that publish never resolved, so the
   * line is cut off. Any other unreadable line is corruption and throws.
   */
  static async open(path: string, topic: Topic): Promise<TopicLog> {
    const file = await open(path, 'a+');
    try {
      const content = await file.readFile();
      const size = content.lastIndexOf(0x0a) + 1;
      if (size < content.length) {
        await file.truncate(size);
        await file.datasync();
      }
      const lines = content.subarray(0, size).toString('utf8').split('\n').slice(0, -1);
      const messages = lines.map((line, index) => {
        try {
          return storedMessage.parse(JSON.parse(line));
        } catch (error) {
          throw new Error(`${path}:${index + 1} is not a stored message; the bus log is corrupt`, { cause: error });
        }
      });
      return new TopicLog(topic, file, size, messages);
    } catch (error) {
      await file.close();
      throw error;
    }
  }

  /** Resolves once the messages are on disk; a failed append leaves neither file nor memory changed. */
  append(messages: readonly StoredMessage[]): Promise<void> {
    const appended = this.appending.then(async () => {
      const lines = Buffer.from(messages.map((message) => `${JSON.stringify(message)}\n`).join(''));
      try {
        await this.file.write(lines, 0, lines.length, this.size);
        await this.file.datasync();
      } catch (error) {
        await this.file.truncate(this.size).catch(() => undefined);
        throw error;
      }
      this.size += lines.length;
      this.messages.push(...messages);
    });
    this.appending = appended.catch(() => undefined);
    return appended;
  }

  async close(): Promise<void> {
    await this.appending;
    await this.file.close();
  }
}

/** A consumer group's committed offsets: per topic, the offset of the next message to hand over. */
class GroupOffsets {
  private writing: Promise<void> = Promise.resolve();

  private constructor(
    private readonly path: string,
    private readonly next: Record<string, number>,
  ) {}

  static async load(path: string): Promise<GroupOffsets> {
    const content = await readFile(path, 'utf8').catch((error: unknown) => {
      if (error instanceof Error && 'code' in error && error.code === 'ENOENT') return '{}';
      throw error;
    });
    try {
      return new GroupOffsets(path, groupOffsets.parse(JSON.parse(content)));
    } catch (error) {
      throw new Error(`${path} does not hold a consumer group's offsets; the bus data is corrupt`, { cause: error });
    }
  }

  nextOffset(topic: Topic): number {
    return this.next[topic] ?? 0;
  }

  /** Records that everything before `next` on `topic` is handled; resolves once that is on disk. */
  commit(topic: Topic, next: number): Promise<void> {
    this.next[topic] = next;
    const snapshot = JSON.stringify(this.next);
    const written = this.writing.then(async () => {
      const temporary = `${this.path}.tmp`;
      await writeFileDurably(temporary, snapshot);
      await rename(temporary, this.path);
    });
    this.writing = written.catch(() => undefined);
    return written;
  }
}

class InProcessSubscription implements Subscription {
  private readonly stopSignal = new AbortController();
  private readonly running: Promise<void>;

  constructor(
    /** Resolves at the next publish on the bus, or when the signal aborts. */
    private readonly nextPublish: (signal: AbortSignal) => Promise<void>,
    private readonly logs: readonly TopicLog[],
    private readonly offsets: GroupOffsets,
    private readonly handler: MessageHandler,
    private readonly onStopped: () => void,
  ) {
    this.running = this.run();
  }

  /** Resolves after the message in hand is handled; the rest stays uncommitted for the next subscription. */
  async stop(): Promise<void> {
    this.stopSignal.abort();
    await this.running;
  }

  private async run(): Promise<void> {
    const signal = this.stopSignal.signal;
    const position = new Map(this.logs.map((log) => [log, this.offsets.nextOffset(log.topic)]));
    let turn = 0;
    let failures = 0;
    while (!signal.aborted) {
      const log = this.nextLogWithMessages(position, turn);
      if (log === undefined) {
        await this.nextPublish(signal);
        continue;
      }
      const offset = position.get(log) ?? 0;
      try {
        await this.handler(toDelivered(log, offset), NO_HEARTBEAT_NEEDED);
        await this.offsets.commit(log.topic, offset + 1);
        position.set(log, offset + 1);
        failures = 0;
        turn += 1;
      } catch {
        failures += 1;
        const backoff = Math.min(RETRY_BACKOFF_MS.first * 2 ** (failures - 1), RETRY_BACKOFF_MS.max);
        await sleep(backoff, undefined, { signal }).catch(() => undefined);
      }
    }
    this.onStopped();
  }

  /** The first log, starting from `turn`, with a message this subscription has not handled. */
  private nextLogWithMessages(position: ReadonlyMap<TopicLog, number>, turn: number): TopicLog | undefined {
    for (let index = 0; index < this.logs.length; index += 1) {
      const log = this.logs[(turn + index) % this.logs.length];
      if (log !== undefined && (position.get(log) ?? 0) < log.messages.length) return log;
    }
    return undefined;
  }
}

const NO_HEARTBEAT_NEEDED: DeliveryContext = { heartbeat: () => Promise.resolve() };

function toDelivered(log: TopicLog, offset: number): DeliveredMessage {
  const stored = log.messages[offset];
  if (stored === undefined) throw new Error(`${log.topic} has no message at offset ${offset}`);
  return {
    topic: log.topic,
    partition: 0,
    offset: String(offset),
    key: stored.key,
    value: Buffer.from(stored.value, 'base64'),
    headers: { ...stored.headers },
  };
}

export class InProcessEventBus implements EventBus {
  private readonly subscriptions = new Set<InProcessSubscription>();
  /** Group and topic pairs being consumed, to refuse a second subscription to the same pair. */
  private readonly consuming = new Set<string>();
  private readonly groups = new Map<string, Promise<GroupOffsets>>();
  private readonly wakeUps = new Set<() => void>();
  private closed = false;

  constructor(
    private readonly directory: string,
    private readonly logs: ReadonlyMap<Topic, TopicLog>,
  ) {}

  async publish(topic: Topic, messages: readonly BusMessage[]): Promise<void> {
    this.assertOpen();
    if (messages.length === 0) return;
    await this.log(topic).append(
      messages.map(({ key, value, headers }) => ({ key, value: value.toString('base64'), headers: { ...headers } })),
    );
    for (const wakeUp of this.wakeUps) wakeUp();
  }

  async subscribe(group: string, topics: readonly Topic[], handler: MessageHandler): Promise<Subscription> {
    this.assertOpen();
    if (topics.length === 0) throw new Error(`Consumer group ${group} must subscribe to at least one topic`);
    const pairs = [...new Set(topics)].map((topic) => `${group}\n${topic}`);
    const taken = pairs.find((pair) => this.consuming.has(pair));
    if (taken !== undefined) {
      const [, topic] = taken.split('\n');
      throw new Error(
        `Consumer group ${group} already consumes ${topic} in this process; ` +
          'the in-process bus hands each topic to one subscription per group',
      );
    }
    for (const pair of pairs) this.consuming.add(pair);
    try {
      const logs = [...new Set(topics)].map((topic) => this.log(topic));
      const offsets = await this.groupOffsets(group);
      for (const log of logs) {
        if (offsets.nextOffset(log.topic) > log.messages.length) {
          throw new Error(
            `Consumer group ${group} committed offset ${offsets.nextOffset(log.topic)} on ${log.topic}, ` +
              `but its log under ${this.directory} holds ${log.messages.length} messages: the bus data is inconsistent`,
          );
        }
      }
      const nextPublish = (signal: AbortSignal): Promise<void> => this.nextPublish(signal);
      const subscription = new InProcessSubscription(nextPublish, logs, offsets, handler, () => {
        this.subscriptions.delete(subscription);
        for (const pair of pairs) this.consuming.delete(pair);
      });
      this.subscriptions.add(subscription);
      return subscription;
    } catch (error) {
      for (const pair of pairs) this.consuming.delete(pair);
      throw error;
    }
  }

  /** Nothing to reach: healthy until closed. */
  checkHealth(): Promise<void> {
    return this.closed ? Promise.reject(closedError()) : Promise.resolve();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.subscriptions].map((subscription) => subscription.stop()));
    await Promise.all([...this.logs.values()].map((log) => log.close()));
  }

  private nextPublish(signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const wakeUp = (): void => {
        this.wakeUps.delete(wakeUp);
        signal.removeEventListener('abort', wakeUp);
        resolve();
      };
      this.wakeUps.add(wakeUp);
      signal.addEventListener('abort', wakeUp, { once: true });
    });
  }

  private log(topic: Topic): TopicLog {
    const log = this.logs.get(topic);
    if (log === undefined) throw new Error(`${topic} is not a ProgImage topic`);
    return log;
  }

  private groupOffsets(group: string): Promise<GroupOffsets> {
    let offsets = this.groups.get(group);
    if (offsets === undefined) {
      offsets = GroupOffsets.load(join(this.directory, 'groups', `${encodeURIComponent(group)}.json`));
      offsets.catch(() => this.groups.delete(group));
      this.groups.set(group, offsets);
    }
    return offsets;
  }

  private assertOpen(): void {
    if (this.closed) throw closedError();
  }
}

const closedError = (): Error => new Error('The in-process event bus is closed');


/** Opens (or creates) the bus under `<dataDir>/bus`, with every message published there before. */
export async function createInProcessEventBus(dataDir: string): Promise<InProcessEventBus> {
  const directory = join(dataDir, 'bus');
  await mkdir(join(directory, 'groups'), { recursive: true });
  const logs = await Promise.allSettled(ALL_TOPICS.map((topic) => TopicLog.open(join(directory, `${topic}.log`), topic)));
  const opened = logs.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
  const failed = logs.find((result) => result.status === 'rejected');
  if (failed !== undefined) {
    await Promise.all(opened.map((log) => log.close()));
    throw failed.reason;
  }
  await syncDirectory(directory); // so that newly created logs survive a power cut along with their content
  return new InProcessEventBus(directory, new Map(opened.map((log) => [log.topic, log])));
}
