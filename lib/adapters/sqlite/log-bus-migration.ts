import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { ProgImageError } from '../../errors.ts';
import { ALL_TOPICS, type Topic } from '../../events/topics.ts';
import { attempt, migrateOnce, moveAside, type SqliteDatabase } from './database.ts';

/*
 * Until SQLite, the embedded bus kept each topic as `<dataDir>/bus/<topic>.log`
 * (one JSON line per message: key, base64 value, headers; a last line without
 * its newline was a publish cut short by a crash, never acknowledged) and each
 * consumer group's positions in `bus/groups/<url-encoded group>.json` (per
 * topic, the index of the next message to hand over). This reads such a
 * folder into the database once, then renames it aside.
 */

export interface MigratedMessage {
  /** 1 for a log's first line: the old index plus one, so that old positions carry over unchanged. */
  readonly offset: number;
  readonly key: string;
  readonly value: Buffer;
  readonly headers: Readonly<Record<string, string>>;
}

export interface MigratedBus {
  readonly messages: ReadonlyMap<Topic, readonly MigratedMessage[]>;
  /** Per group and topic, how many messages the group has handled: the offset of the last one. */
  readonly handled: readonly { readonly group: string; readonly topic: Topic; readonly offset: number }[];
}

const storedMessage = z.object({ key: z.string(), value: z.base64(), headers: z.record(z.string(), z.string()) });
const groupPositions = z.record(z.string(), z.number().int().nonnegative());
const knownTopic = (topic: string): topic is Topic => (ALL_TOPICS as readonly string[]).includes(topic);

function corrupt(path: string, what: string, cause: unknown): ProgImageError {
  return new ProgImageError(`${path}${what} is corrupt, so the event bus cannot be migrated to SQLite; restore the file`, {
    retriable: false,
    cause,
  });
}

function readTopic(path: string): MigratedMessage[] {
  const lines = readFileSync(path, 'utf8').split('\n');
  lines.pop();
  return lines.map((line, index) => {
    try {
      const { key, value, headers } = storedMessage.parse(JSON.parse(line));
      return { offset: index + 1, key, value: Buffer.from(value, 'base64'), headers };
    } catch (error) {
      throw corrupt(path, ` line ${index + 1}`, error);
    }
  });
}

function readGroups(folder: string): MigratedBus['handled'] {
  if (!existsSync(folder)) return [];
  return readdirSync(folder)
    .filter((file) => file.endsWith('.json'))
    .flatMap((file) => {
      const path = join(folder, file);
      let positions: Record<string, number>;
      try {
        positions = groupPositions.parse(JSON.parse(readFileSync(path, 'utf8')));
      } catch (error) {
        throw corrupt(path, '', error);
      }
      const group = decodeURIComponent(file.slice(0, -'.json'.length));
      return Object.entries(positions).flatMap(([topic, next]) => (knownTopic(topic) ? [{ group, topic, offset: next }] : []));
    });
}

/** Where the old folder goes once migrated. */
export const migratedBusFolder = (dataDir: string): string => join(dataDir, 'bus.migrated-to-sqlite');

/**
 * Hands the messages and group positions of `<dataDir>/bus` to `store`, in
 * one write transaction, unless that already happened; then renames the
 * folder to `bus.migrated-to-sqlite`.
 */
export function migrateLogBus(database: SqliteDatabase, dataDir: string, store: (bus: MigratedBus) => void): void {
  const folder = join(dataDir, 'bus');
  if (!existsSync(folder)) return;
  attempt(`migrating ${folder}`, () => {
    migrateOnce(database, 'bus from log files', () => {
      const messages = new Map<Topic, MigratedMessage[]>();
      for (const topic of ALL_TOPICS) {
        const path = join(folder, `${topic}.log`);
        if (existsSync(path)) messages.set(topic, readTopic(path));
      }
      store({ messages, handled: readGroups(join(folder, 'groups')) });
    });
    moveAside(folder, migratedBusFolder(dataDir));
  });
}
