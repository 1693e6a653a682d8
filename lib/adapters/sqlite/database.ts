import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { DependencyUnavailableError, ProgImageError } from '../../errors.ts';

export type SqliteDatabase = Database.Database;

/** How long a statement waits for another connection's write to finish before it fails as busy. */
const BUSY_TIMEOUT_MS = 5_000;

/**
 * Opens (or creates) the database file at `path` for the embedded adapters.
 *
 * - WAL journal: readers never block the writer, so several processes (the
 *   server and `npm run admin`) can use one file at once; SQLite serialises
 *   their writes.
 * - busy_timeout: a write that finds another connection writing waits for it
 *   instead of failing at once.
 * - synchronous FULL: a write is fsync'd before its statement returns, so
 *   what a caller was told is saved survives a power cut (NORMAL would only
 *   keep the file consistent).
 * - `exclusive`: this connection takes the file for itself until it closes;
 *   another one waits out the busy timeout and fails with SQLITE_BUSY.
 */
export function openDatabase(path: string, options: { exclusive: boolean }): SqliteDatabase {
  return attempt(`opening ${path}`, () => {
    mkdirSync(dirname(path), { recursive: true });
    const database = new Database(path, { timeout: BUSY_TIMEOUT_MS });
    try {
      // Before WAL is entered: in exclusive mode SQLite then keeps the WAL index in memory, not in a shared file.
      if (options.exclusive) database.pragma('locking_mode = EXCLUSIVE');
      database.pragma('journal_mode = WAL');
      database.pragma('synchronous = FULL');
      // The exclusive lock is taken at the first write and kept.
      if (options.exclusive) database.exec('BEGIN EXCLUSIVE; COMMIT');
      return database;
    } catch (error) {
      database.close();
      throw error;
    }
  });
}

/** SQLite's result codes for a file that is busy, unreadable, full or gone: conditions a later try may not meet. */
const TRANSIENT = /^SQLITE_(BUSY|LOCKED|IOERR|FULL|CANTOPEN|PROTOCOL|READONLY)/;

/**
 * Runs `operation` on the database; a busy or failing disk becomes a
 * retriable DependencyUnavailableError, anything else a permanent error
 * (a bug, or a corrupt file that needs a person).
 */
export function attempt<R>(what: string, operation: () => R): R {
  try {
    return operation();
  } catch (error) {
    if (error instanceof ProgImageError) throw error;
    if (error instanceof Database.SqliteError && TRANSIENT.test(error.code)) {
      throw new DependencyUnavailableError(`embedded database: ${what} failed (${error.code})`, error);
    }
    throw new ProgImageError(`embedded database: ${what} failed: ${error instanceof Error ? error.message : String(error)}`, {
      retriable: false,
      cause: error,
    });
  }
}

/**
 * Runs `migrate` in a write transaction unless a migration named `name` has
 * already run on this database: several processes opening an old data folder
 * at once migrate it once.
 */
export function migrateOnce(database: SqliteDatabase, name: string, migrate: () => void): void {
  database.exec('CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)');
  database
    .transaction(() => {
      if (database.prepare('SELECT 1 FROM migrations WHERE name = ?').get(name) !== undefined) return;
      migrate();
      database.prepare('INSERT INTO migrations (name, applied_at) VALUES (?, ?)').run(name, new Date().toISOString());
    })
    .immediate();
}

/** `name` as an SQL identifier, for table and index names made from collection and topic names. */
export const identifier = (name: string): string => `"${name.replaceAll('"', '""')}"`;

/**
 * Renames a migrated folder aside (beside an earlier one, under another name).
 * Another process that migrated it at the same time may have done so already.
 */
export function moveAside(folder: string, destination: string): void {
  try {
    renameSync(folder, existsSync(destination) ? `${destination}-${Date.now()}` : destination);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}
