import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Statement } from 'better-sqlite3';
import { z } from 'zod';
import { DependencyUnavailableError, ProgImageError } from '../errors.ts';
import { ALL_TOPICS, type Topic } from '../events/topics.ts';
import type {
  BusMessage,
  DeliveredMessage,
  DeliveryContext,
  EventBus,
  MessageHandler,
  SubscribeOptions,
  Subscription,
} from '../ports/event-bus.ts';
import { attempt, identifier, openDatabase, type SqliteDatabase } from './sqlite/database.ts';
import { KeyOrderedQueue } from './key-ordered-queue.ts';
import { migrateLogBus, type MigratedBus } from './sqlite/log-bus-migration.ts';

/**
 * The embedded event bus: the same at-least-once contract as Kafka, handed
 * over in this process by callbacks, durable in `<dataDir>/bus.sqlite`.
 *
 * - Each topic is a table whose ascending offset (a never-reused
 *   AUTOINCREMENT key) is the publish order: one partition, so every key's
 *   messages stay in order. publish() resolves once its transaction is on disk.
 * - `group_offsets` holds, per consumer group and topic, the offset of the
 *   last message the group handled (0: none yet). A group is entered there
 *   when it first subscribes, and starts at the oldest message kept.
 * - Retention: once every group entered for a topic has handled a message, it
 *   is deleted, in the transaction that commits the last group's offset.
 * - A subscription reads its topics in turn and hands over up to
 *   `concurrency` messages at once, never two of one key (whatever their
 *   topic): one key's messages are handled one after the other, in order. A
 *   rejected message is retried after a backoff, never skipped; the group's
 *   position moves up to the message before the lowest one not handled yet.
 * - One subscription per group and topic (one partition to share, as one
 *   Kafka partition goes to one member of a group).
 * - One process per data folder: a publish wakes only this process's
 *   subscribers, so the database is opened exclusively and a second process
 *   is refused.
 */

const DATABASE_FILE = 'bus.sqlite';
const RETRY_BACKOFF_MS = { first: 100, max: 5_000 };

const headersSchema = z.record(z.string(), z.string());
const tableOf = (topic: Topic): string => identifier(`topic:${topic}`);

interface StoredRow {
  readonly offset: number;
  readonly key: string;
  readonly value: Buffer;
  readonly headers: string;
}

function createTables(database: SqliteDatabase): void {
  for (const topic of ALL_TOPICS) {
    database.exec(
      `CREATE TABLE IF NOT EXISTS ${tableOf(topic)} ` +
        '(offset INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL, value BLOB NOT NULL, headers TEXT NOT NULL)',
    );
  }
  database.exec(
    'CREATE TABLE IF NOT EXISTS group_offsets ' +
      '(group_name TEXT NOT NULL, topic TEXT NOT NULL, handled INTEGER NOT NULL, PRIMARY KEY (group_name, topic)) WITHOUT ROWID',
  );
}

/** One topic's table and the statements on it. */
class TopicTable {
  readonly #insert: Statement;
  readonly #next: Statement;
  readonly #register: Statement;
  readonly #position: Statement;
  readonly #commit: Statement;
  readonly #retain: Statement;

  constructor(
    readonly topic: Topic,
    database: SqliteDatabase,
  ) {
    const table = tableOf(topic);
    this.#insert = database.prepare(`INSERT INTO ${table} (offset, key, value, headers) VALUES (?, ?, ?, ?)`);
    this.#next = database.prepare(`SELECT offset, key, value, headers FROM ${table} WHERE offset > ? ORDER BY offset LIMIT 1`);
    this.#register = database.prepare('INSERT INTO group_offsets (group_name, topic, handled) VALUES (?, ?, ?) ON CONFLICT DO NOTHING');
    this.#position = database.prepare('SELECT handled FROM group_offsets WHERE group_name = ? AND topic = ?');
    this.#commit = database.prepare('UPDATE group_offsets SET handled = ? WHERE group_name = ? AND topic = ?');
    this.#retain = database.prepare(`DELETE FROM ${table} WHERE offset <= (SELECT min(handled) FROM group_offsets WHERE topic = ?)`);
  }

  /** Appends a message; `offset` only when migrating, null for the next one. */
  insert(offset: number | null, { key, value, headers }: BusMessage): void {
    this.#insert.run(offset, key, value, JSON.stringify(headers ?? {}));
  }

  /** The first message after `handled`, if any. */
  next(handled: number): DeliveredMessage | undefined {
    const row = this.#next.get(handled) as StoredRow | undefined;
    if (row === undefined) return undefined;
    return {
      topic: this.topic,
      partition: 0,
      offset: String(row.offset),
      key: row.key,
      value: row.value,
      headers: headersSchema.parse(JSON.parse(row.headers)),
    };
  }

  /** Enters `group` for this topic (from `handled`, if it is new) and resolves to its last handled offset. */
  register(group: string, handled: number): number {
    this.#register.run(group, this.topic, handled);
    return (this.#position.get(group, this.topic) as { handled: number }).handled;
  }

  /** Records that `group` handled everything up to `offset`, and deletes what every group has now handled. */
  commit(group: string, offset: number): void {
    this.#commit.run(offset, group, this.topic);
    this.retain();
  }

  retain(): void {
    this.#retain.run(this.topic);
  }
}

/** A message read from a table and not handled yet. */
interface Pending {
  readonly table: TopicTable;
  readonly message: DeliveredMessage;
}

/** Messages read ahead per message in the handler, to find other keys' while one key waits. */
const READ_AHEAD_PER_SLOT = 16;

class InProcessSubscription implements Subscription {
  private readonly stopSignal = new AbortController();
  private readonly running: Promise<void>;
  private readonly tables: readonly TopicTable[];
  /** Per table, the offset of the last message read (handled, in the handler or waiting). */
  private readonly readUpTo: Map<TopicTable, number>;
  /** Per table, the offsets read and not handled yet: the group's position stays below the lowest. */
  private readonly unfinished: Map<TopicTable, Set<number>>;
  /** Messages read and not handled yet. */
  private readonly queue: KeyOrderedQueue<Pending>;
  private turn = 0;
  private wakeUp: () => void = () => undefined;

  constructor(
    private readonly positions: Map<TopicTable, number>,
    /** Stores the group's new position on a topic, durably. */
    private readonly commit: (table: TopicTable, offset: number) => void,
    private readonly handler: MessageHandler,
    private readonly concurrency: number,
    private readonly onStopped: () => void,
  ) {
    this.queue = new KeyOrderedQueue(
      concurrency,
      (pending) => pending.message.key,
      (pending) => this.handle(pending),
      this.wake,
    );
    this.tables = [...positions.keys()];
    this.readUpTo = new Map(positions);
    this.unfinished = new Map(this.tables.map((table) => [table, new Set<number>()]));
    this.running = this.run();
  }

  /** Called at every publish on the bus. */
  readonly wake = (): void => {
    this.wakeUp();
  };

  /** Resolves after the messages in hand are handled; the rest stays uncommitted for the next subscription. */
  async stop(): Promise<void> {
    this.stopSignal.abort();
    this.wake();
    await this.running;
  }

  /** Reads ahead and hands over what it can, then sleeps until a publish, a message handled, or stop(). */
  private async run(): Promise<void> {
    const signal = this.stopSignal.signal;
    while (!signal.aborted) {
      const woken = new Promise<void>((resolve) => {
        this.wakeUp = resolve;
      });
      this.readAhead();
      await woken;
    }
    await this.queue.settled();
    this.onStopped();
  }

  /** Reads the tables in turn, a message at a time, until the read-ahead is full or nothing is left. */
  private readAhead(): void {
    const room = () => this.concurrency * READ_AHEAD_PER_SLOT - this.queue.waitingCount;
    let found = true;
    while (found && room() > 0) {
      found = false;
      for (let index = 0; index < this.tables.length && room() > 0; index += 1) {
        const table = this.tables[(this.turn + index) % this.tables.length];
        if (table === undefined) continue;
        const message = attempt(`reading ${table.topic}`, () => table.next(this.readUpTo.get(table) ?? 0));
        if (message === undefined) continue;
        const offset = Number(message.offset);
        this.readUpTo.set(table, offset);
        this.unfinished.get(table)?.add(offset);
        this.queue.add({ table, message });
        found = true;
      }
      this.turn += 1;
    }
  }

  /** Hands a message over until it is handled, after a backoff on each rejection; stop() abandons it. */
  private async handle({ table, message }: Pending): Promise<void> {
    const signal = this.stopSignal.signal;
    for (let failures = 0; !signal.aborted;) {
      try {
        await this.handler(message, NO_HEARTBEAT_NEEDED);
        this.finish(table, Number(message.offset));
        return;
      } catch {
        failures += 1;
        const backoff = Math.min(RETRY_BACKOFF_MS.first * 2 ** (failures - 1), RETRY_BACKOFF_MS.max);
        await sleep(backoff, undefined, { signal }).catch(() => undefined);
      }
    }
  }

  /** Marks a message handled, and moves the group's position up to the message before the lowest unfinished one. */
  private finish(table: TopicTable, offset: number): void {
    const unfinished = this.unfinished.get(table);
    unfinished?.delete(offset);
    const lowest = unfinished === undefined || unfinished.size === 0 ? undefined : Math.min(...unfinished);
    const position = lowest === undefined ? (this.readUpTo.get(table) ?? 0) : lowest - 1;
    if (position <= (this.positions.get(table) ?? 0)) return;
    this.commit(table, position);
    this.positions.set(table, position);
  }
}

const NO_HEARTBEAT_NEEDED: DeliveryContext = { heartbeat: () => Promise.resolve() };

export class InProcessEventBus implements EventBus {
  private readonly subscriptions = new Set<InProcessSubscription>();
  /** Group and topic pairs being consumed, to refuse a second subscription to the same pair. */
  private readonly consuming = new Set<string>();
  /** Called at every publish: one per subscription. */
  private readonly wakeUps = new Set<() => void>();
  private closed = false;

  constructor(
    private readonly database: SqliteDatabase,
    private readonly tables: ReadonlyMap<Topic, TopicTable>,
  ) {}

  publish(topic: Topic, messages: readonly BusMessage[]): Promise<void> {
    return new Promise((resolve) => {
      this.assertOpen();
      if (messages.length > 0) {
        const table = this.table(topic);
        attempt(`publishing to ${topic}`, () => {
          this.database.transaction(() => {
            for (const message of messages) table.insert(null, message);
          })();
        });
        for (const wakeUp of this.wakeUps) wakeUp();
      }
      resolve();
    });
  }

  subscribe(group: string, topics: readonly Topic[], handler: MessageHandler, options: SubscribeOptions = {}): Promise<Subscription> {
    return new Promise((resolve) => {
      this.assertOpen();
      if (topics.length === 0)
        throw new ProgImageError(`Consumer group ${group} must subscribe to at least one topic`, { retriable: false });
      const concurrency = checkedConcurrency(options);
      const pairs = [...new Set(topics)].map((topic) => `${group}\n${topic}`);
      const taken = pairs.find((pair) => this.consuming.has(pair));
      if (taken !== undefined) {
        const [, topic] = taken.split('\n');
        throw new ProgImageError(
          `Consumer group ${group} already consumes ${topic} in this process; ` +
            'the in-process bus hands each topic to one subscription per group',
          { retriable: false },
        );
      }
      const tables = [...new Set(topics)].map((topic) => this.table(topic));
      const positions = attempt(`entering consumer group ${group}`, () =>
        this.database.transaction(() => new Map(tables.map((table) => [table, table.register(group, 0)])))(),
      );
      for (const pair of pairs) this.consuming.add(pair);
      const commit = (table: TopicTable, offset: number): void => {
        attempt(`committing ${group} on ${table.topic}`, () => {
          this.database.transaction(() => {
            table.commit(group, offset);
          })();
        });
      };
      const subscription = new InProcessSubscription(positions, commit, handler, concurrency, () => {
        this.wakeUps.delete(subscription.wake);
        this.subscriptions.delete(subscription);
        for (const pair of pairs) this.consuming.delete(pair);
      });
      this.wakeUps.add(subscription.wake);
      this.subscriptions.add(subscription);
      resolve(subscription);
    });
  }

  /** Nothing to reach: healthy until closed. */
  checkHealth(): Promise<void> {
    return this.closed ? Promise.reject(closedError()) : Promise.resolve();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.subscriptions].map((subscription) => subscription.stop()));
    this.database.close();
  }

  private table(topic: Topic): TopicTable {
    const table = this.tables.get(topic);
    if (table === undefined) throw new ProgImageError(`${topic} is not a ProgImage topic`, { retriable: false });
    return table;
  }

  private assertOpen(): void {
    if (this.closed) throw closedError();
  }
}

/** The concurrency asked for: a whole number of messages, at least one. */
function checkedConcurrency({ concurrency = 1 }: SubscribeOptions): number {
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new ProgImageError(`concurrency: expected a whole number of messages from 1, got ${concurrency}`, { retriable: false });
  }
  return concurrency;
}

const closedError = (): Error => new ProgImageError('The in-process event bus is closed', { retriable: false });

function storeMigrated(tables: ReadonlyMap<Topic, TopicTable>, { messages, handled }: MigratedBus): void {
  for (const [topic, topicMessages] of messages) {
    const table = tables.get(topic);
    for (const message of topicMessages) table?.insert(message.offset, message);
  }
  for (const { group, topic, offset } of handled) tables.get(topic)?.register(group, offset);
  for (const table of tables.values()) table.retain();
}

/**
 * Opens (or creates) the bus in `<dataDir>/bus.sqlite`, with every message
 * kept there, migrating the log files of earlier versions once.
 */
export function createInProcessEventBus(dataDir: string): Promise<InProcessEventBus> {
  return new Promise((resolve) => {
    const path = join(dataDir, DATABASE_FILE);
    let database: SqliteDatabase;
    try {
      database = openDatabase(path, { exclusive: true });
    } catch (error) {
      if (!(error instanceof DependencyUnavailableError && error.message.includes('SQLITE_BUSY'))) throw error;
      throw new ProgImageError(
        `the embedded event bus ${path} is open in another process (npm start?); one process per data folder uses it`,
        { retriable: false, cause: error },
      );
    }
    try {
      const tables = attempt(`opening ${path}`, () => {
        createTables(database);
        return new Map(ALL_TOPICS.map((topic) => [topic, new TopicTable(topic, database)]));
      });
      migrateLogBus(database, dataDir, (bus) => {
        storeMigrated(tables, bus);
      });
      resolve(new InProcessEventBus(database, tables));
    } catch (error) {
      database.close();
      throw error;
    }
  });
}
