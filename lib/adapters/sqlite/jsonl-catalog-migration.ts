import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { ProgImageError } from '../../errors.ts';
import { attempt, migrateOnce, moveAside, type SqliteDatabase } from './database.ts';

/*
 * Until SQLite, the embedded catalog store kept one JSON-lines log per
 * collection in `<dataDir>/catalog/<name>.jsonl`: one line per write, either
 * `{"version":n,"document":{"id":…}}` or `{"deleted":"id"}`, the last line for
 * an id winning; a last line without its newline was a write cut short by a
 * crash and never acknowledged. This reads such a folder into the database
 * once, then renames it aside so that nothing reads it again.
 */

export interface MigratedRecord {
  readonly id: string;
  readonly version: number;
  readonly document: string;
}

const logEntry = z.union([
  z.object({ version: z.number().int().positive(), document: z.looseObject({ id: z.string() }) }),
  z.object({ deleted: z.string() }),
]);

/** The live records of one log, in the order their ids were last written. */
function replay(path: string): MigratedRecord[] {
  const lines = readFileSync(path, 'utf8').split('\n');
  lines.pop();
  const records = new Map<string, MigratedRecord>();
  lines.forEach((line, index) => {
    let entry: z.infer<typeof logEntry>;
    try {
      entry = logEntry.parse(JSON.parse(line));
    } catch (error) {
      throw new ProgImageError(
        `${path} line ${index + 1} is corrupt, so the catalog cannot be migrated to SQLite; restore the file or remove that line`,
        { retriable: false, cause: error },
      );
    }
    if ('deleted' in entry) records.delete(entry.deleted);
    else records.set(entry.document.id, { id: entry.document.id, version: entry.version, document: JSON.stringify(entry.document) });
  });
  return [...records.values()];
}

/** Where the old folder goes once migrated. */
export const migratedCatalogFolder = (dataDir: string): string => join(dataDir, 'catalog.migrated-to-sqlite');

/**
 * Copies every collection of `<dataDir>/catalog/*.jsonl` into the database
 * through `insert` (one call per collection), unless that already happened,
 * and renames the folder to `catalog.migrated-to-sqlite`.
 */
export function migrateJsonlCatalog(
  database: SqliteDatabase,
  dataDir: string,
  insert: (collection: string, records: readonly MigratedRecord[]) => void,
): void {
  const folder = join(dataDir, 'catalog');
  if (!existsSync(folder)) return;
  attempt(`migrating ${folder}`, () => {
    migrateOnce(database, 'catalog from JSON-lines logs', () => {
      for (const file of readdirSync(folder)
        .filter((name) => name.endsWith('.jsonl'))
        .sort()) {
        insert(file.slice(0, -'.jsonl'.length), replay(join(folder, file)));
      }
    });
    moveAside(folder, migratedCatalogFolder(dataDir));
  });
}
