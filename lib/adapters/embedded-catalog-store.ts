import { mkdirSync } from 'node:fs';
import { open, readFile, rename, unlink, type FileHandle } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { syncDirectory, writeFileDurably } from '../durable-files.ts';
import { DependencyUnavailableError, ProgImageError } from '../errors.ts';
import {
  CatalogStoreInUseError,
  type CatalogStore,
  type CollectionSpec,
  type DocumentCollection,
  type FieldValue,
  type FindQuery,
  type Identified,
  type Versioned,
} from '../ports/catalog-store.ts';

/*
 * The catalog store of `npm start`: in the process, durable on disk, plain Node.
 *
 * Why hand-written rather than an embedded database from npm: the port needs
 * get/save-if-version/find-by-equality/delete over a few thousand to a few
 * hundred thousand small JSON documents, and what matters is exactly what the
 * candidates leave vague. @seald-io/nedb (the maintained NeDB) appends without
 * fsync, skips up to 10% unreadable lines without a word, and brings browser
 * shims (localforage); SQLite bindings need a native build. A Map per
 * collection plus an append-only log is a page of code whose durability and
 * crash behaviour can be read and tested here:
 *
 * - one file per collection, `<dataDir>/catalog/<name>.jsonl`, one JSON line
 *   per write (`{"version":n,"document":{...}}` or `{"deleted":"id"}`),
 *   fsync'd before the save resolves;
 * - on open the log is replayed into memory and rewritten compacted (temp file,
 *   fsync, rename); it is compacted again while running once it is mostly dead
 *   lines;
 * - a last line without its newline is a write torn by a crash and is dropped;
 *   any other unreadable line is corruption and the store refuses to open;
 * - writes to one collection run one at a time (version check, append, fsync,
 *   then the in-memory update), so compare-and-set is atomic in the process;
 *   reads never wait, and see only writes that are on disk;
 * - a LOCK file keeps a second process off the same directory: two writers
 *   would each keep their own view and the compaction of one would strand the
 *   other's appends.
 *
 * Queries scan the collection in memory (spec.indexes are not needed at this
 * size); documents round-trip through JSON, as they would through any store.
 */

interface StoredRecord {
  readonly version: number;
  readonly document: Record<string, unknown> & { readonly id: string };
}

const logEntrySchema = z.union([
  z.object({
    version: z.number().int().positive(),
    document: z.looseObject({ id: z.string() }),
  }),
  z.object({ deleted: z.string() }),
]);

const RESERVED_FIELDS = ['_id', '_version'] as const;
const COLLECTION_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,119}$/;
/** Compact while running once the log holds this many lines and most of them are dead. */
const COMPACT_AFTER_ENTRIES = 1000;

const misuse = (message: string): ProgImageError => new ProgImageError(message, { retriable: false });

function diskError(what: string, error: unknown): DependencyUnavailableError {
  return new DependencyUnavailableError(`catalog data directory: ${what} failed`, error);
}

/** The value of `compute`, or its exception as a rejection. */
function settle<R>(compute: () => R): Promise<R> {
  return new Promise((resolve) => {
    resolve(compute());
  });
}

/** Runs tasks one after another, in the order they were queued. */
function createSerializer(): <R>(task: () => Promise<R>) => Promise<R> {
  let tail: Promise<unknown> = Promise.resolve();
  return (task) => {
    const result = tail.then(task);
    tail = result.catch(() => undefined);
    return result;
  };
}


/** The records of one collection file, replayed from its log. */
async function replay(path: string): Promise<Map<string, StoredRecord>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
    throw diskError(`reading ${path}`, error);
  }
  const lines = text.split('\n');
  // Text after the last newline is a write that a crash cut short: it was never acknowledged.
  lines.pop();
  const records = new Map<string, StoredRecord>();
  lines.forEach((line, index) => {
    let entry: z.infer<typeof logEntrySchema>;
    try {
      entry = logEntrySchema.parse(JSON.parse(line));
    } catch (error) {
      throw new ProgImageError(`${path} line ${index + 1} is corrupt; restore the file or remove that line`, {
        retriable: false,
        cause: error,
      });
    }
    if ('deleted' in entry) records.delete(entry.deleted);
    else records.set(entry.document.id, entry);
  });
  return records;
}

/**
 * Writes the records to a temporary file, fsyncs it and renames it over the
 * log. Resolves to an append handle on the new log, opened before the rename
 * so that no write can go to the replaced file. The caller syncs the directory.
 */
async function rewrite(
  path: string,
  records: ReadonlyMap<string, StoredRecord>,
): Promise<{ handle: FileHandle; size: number }> {
  const temporary = `${path}.compacting`;
  const text = [...records.values()].map((record) => `${JSON.stringify(record)}\n`).join('');
  let handle: FileHandle | undefined;
  try {
    await writeFileDurably(temporary, text);
    handle = await open(temporary, 'a');
    await rename(temporary, path);
    return { handle, size: Buffer.byteLength(text) };
  } catch (error) {
    await handle?.close().catch(() => undefined);
    await unlink(temporary).catch(() => undefined);
    throw diskError(`rewriting ${path}`, error);
  }
}

type WriteDecision<R> = { readonly entry: object; readonly apply: () => R } | { readonly result: R };

/** One collection: its records in memory and the log on disk that they are replayed from. */
class CollectionLog {
  readonly #records: Map<string, StoredRecord>;
  readonly #path: string;
  readonly #directory: string;
  readonly #serialize = createSerializer();
  #handle: FileHandle;
  #lines: number;
  #size: number;
  #closed = false;
  /** Why the log takes no more writes: a failed append that could not be cut off, or a close. */
  #broken: unknown = null;

  private constructor(
    directory: string,
    path: string,
    records: Map<string, StoredRecord>,
    handle: FileHandle,
    size: number,
  ) {
    this.#records = records;
    this.#directory = directory;
    this.#path = path;
    this.#handle = handle;
    this.#lines = records.size;
    this.#size = size;
  }

  /** Replays the log and compacts it. */
  static async open(directory: string, name: string): Promise<CollectionLog> {
    const path = join(directory, `${name}.jsonl`);
    const records = await replay(path);
    const { handle, size } = await rewrite(path, records);
    try {
      await syncDirectory(directory);
    } catch (error) {
      await handle.close();
      throw diskError(`syncing ${directory}`, error);
    }
    return new CollectionLog(directory, path, records, handle, size);
  }

  /** The committed records; callers must not change them. */
  get records(): ReadonlyMap<string, StoredRecord> {
    if (this.#closed) throw misuse(`${this.#path} is closed`);
    return this.#records;
  }

  /**
   * Runs `decide` with exclusive write access to the collection. An entry it
   * returns is appended and fsync'd before its `apply` changes the records.
   */
  write<R>(decide: (records: Map<string, StoredRecord>) => WriteDecision<R>): Promise<R> {
    return this.#serialize(async () => {
      if (this.#closed) throw misuse(`${this.#path} is closed`);
      if (this.#broken !== null) throw diskError(`appending to ${this.#path} (earlier)`, this.#broken);
      const decision = decide(this.#records);
      if ('result' in decision) return decision.result;
      await this.#append(`${JSON.stringify(decision.entry)}\n`);
      const result = decision.apply();
      await this.#compactIfMostlyDead();
      return result;
    });
  }

  async close(): Promise<void> {
    await this.#serialize(async () => {
      if (this.#closed) return;
      this.#closed = true;
      await this.#handle.close();
    });
  }

  async #append(line: string): Promise<void> {
    try {
      await this.#handle.appendFile(line);
      await this.#handle.datasync();
    } catch (error) {
      // Cut off whatever part of the line reached the file, so that no later line follows a torn one.
      await this.#handle.truncate(this.#size).catch((truncateError: unknown) => {
        this.#broken = truncateError;
      });
      throw diskError(`appending to ${this.#path}`, error);
    }
    this.#size += Buffer.byteLength(line);
    this.#lines += 1;
  }

  /** Compaction is housekeeping: when it fails the log is merely longer, and it is tried again later. */
  async #compactIfMostlyDead(): Promise<void> {
    if (this.#lines < COMPACT_AFTER_ENTRIES || this.#lines < 2 * this.#records.size) return;
    let compacted: { handle: FileHandle; size: number };
    try {
      compacted = await rewrite(this.#path, this.#records);
    } catch {
      return;
    }
    const previous = this.#handle;
    this.#handle = compacted.handle;
    this.#size = compacted.size;
    this.#lines = this.#records.size;
    await previous.close().catch(() => undefined);
    try {
      await syncDirectory(this.#directory);
    } catch (error) {
      // Until the rename is durable, a crash could bring back the old file without the writes that follow.
      this.#broken = error;
    }
  }
}

class EmbeddedDocumentCollection<T extends Identified> implements DocumentCollection<T> {
  readonly #spec: CollectionSpec<T>;
  readonly #log: CollectionLog;

  constructor(spec: CollectionSpec<T>, log: CollectionLog) {
    this.#spec = spec;
    this.#log = log;
  }

  get(id: string): Promise<Versioned<T> | null> {
    return settle(() => {
      const record = this.#log.records.get(id);
      return record === undefined ? null : { document: this.#decode(record), version: record.version };
    });
  }

  async save(document: T, expectedVersion: number | null): Promise<number | null> {
    for (const name of RESERVED_FIELDS) {
      if (Object.hasOwn(document, name)) {
        throw misuse(`${this.#spec.name}: a document may not have a field named "${name}"`);
      }
    }
    if (expectedVersion !== null && (!Number.isSafeInteger(expectedVersion) || expectedVersion < 1)) {
      throw misuse(`expected version must be a positive integer, got ${expectedVersion}`);
    }
    return this.#log.write((records) => {
      if ((records.get(document.id)?.version ?? null) !== expectedVersion) return { result: null };
      const version = (expectedVersion ?? 0) + 1;
      // What JSON keeps of the document: exactly what a restart reads back.
      const record = JSON.parse(JSON.stringify({ version, document })) as StoredRecord;
      return {
        entry: record,
        apply: () => {
          records.set(document.id, record);
          return version;
        },
      };
    });
  }

  find(query: FindQuery): Promise<T[]> {
    return settle(() => {
      const { where, after, limit } = query;
      if (!Number.isSafeInteger(limit) || limit < 0) throw misuse(`limit must be a non-negative integer, got ${limit}`);
      const matches = this.#matching(where).filter((record) => after === undefined || record.document.id > after);
      matches.sort((a, b) => (a.document.id < b.document.id ? -1 : 1));
      return matches.slice(0, limit).map((record) => this.#decode(record));
    });
  }

  count(where?: Readonly<Record<string, FieldValue>>): Promise<number> {
    return settle(() => this.#matching(where).length);
  }

  delete(id: string): Promise<boolean> {
    return this.#log.write((records) =>
      records.has(id) ? { entry: { deleted: id }, apply: () => records.delete(id) } : { result: false },
    );
  }

  #matching(where: Readonly<Record<string, FieldValue>> | undefined): StoredRecord[] {
    const conditions = Object.entries(where ?? {});
    for (const [field] of conditions) {
      if (field.startsWith('$') || field.includes('.') || (RESERVED_FIELDS as readonly string[]).includes(field)) {
        throw misuse(`cannot filter on "${field}": only top-level document fields can be matched`);
      }
    }
    return [...this.#log.records.values()].filter((record) =>
      conditions.every(([field, value]) => record.document[field] === value),
    );
  }

  #decode(record: StoredRecord): T {
    // A copy, so that a caller changing what it got cannot change the store.
    const parsed = this.#spec.schema.safeParse(structuredClone(record.document));
    if (!parsed.success) {
      const problems = parsed.error.issues
        .map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`)
        .join('; ');
      throw new ProgImageError(
        `stored document ${this.#spec.name}/${record.document.id} does not match its schema: ${problems}`,
        { retriable: false, cause: parsed.error },
      );
    }
    return parsed.data;
  }
}

/** Directories held by a store of this process. */
const heldDirectories = new Set<string>();

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes `<directory>/LOCK` for this process; a lock left by a process that is gone is taken over. */
async function lockDirectory(directory: string): Promise<() => Promise<void>> {
  const lockFile = join(directory, 'LOCK');
  if (heldDirectories.has(directory)) throw misuse(`${directory} is already open in this process`);
  for (let attempt = 0; ; attempt += 1) {
    try {
      const handle = await open(lockFile, 'wx');
      try {
        await handle.writeFile(`${process.pid}\n`);
      } finally {
        await handle.close();
      }
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw diskError(`locking ${lockFile}`, error);
    }
    const holder = Number.parseInt(await readFile(lockFile, 'utf8').catch(() => ''), 10);
    // Our own pid in the file means an earlier life of this process id (a restarted container): stale.
    if (Number.isSafeInteger(holder) && holder !== process.pid && isAlive(holder)) {
      throw new CatalogStoreInUseError(holder, `${directory} is in use by process ${holder}; stop it, or delete ${lockFile} if that process is not ProgImage`);
    }
    await unlink(lockFile).catch(() => undefined);
  }
  heldDirectories.add(directory);
  return async () => {
    heldDirectories.delete(directory);
    await unlink(lockFile).catch(() => undefined);
  };
}

/** Opens (or creates) the embedded catalog store under `<dataDir>/catalog`. */
export async function createEmbeddedCatalogStore(dataDir: string): Promise<CatalogStore> {
  const directory = resolve(dataDir, 'catalog');
  try {
    mkdirSync(directory, { recursive: true });
  } catch (error) {
    throw diskError(`creating ${directory}`, error);
  }
  const unlock = await lockDirectory(directory);
  const logs = new Map<string, Promise<CollectionLog>>();
  let closed = false;

  const assertOpen = (): void => {
    if (closed) throw misuse(`the catalog store in ${directory} is closed`);
  };

  return {
    async collection<T extends Identified>(spec: CollectionSpec<T>): Promise<DocumentCollection<T>> {
      assertOpen();
      if (!COLLECTION_NAME.test(spec.name)) {
        throw misuse(`collection name ${JSON.stringify(spec.name)} must match ${COLLECTION_NAME.source}`);
      }
      let log = logs.get(spec.name);
      if (log === undefined) {
        log = CollectionLog.open(directory, spec.name);
        logs.set(spec.name, log);
        log.catch(() => logs.delete(spec.name)); // a failed open is tried again next time
      }
      return new EmbeddedDocumentCollection(spec, await log);
    },

    checkHealth() {
      return closed ? Promise.reject(misuse(`the catalog store in ${directory} is closed`)) : Promise.resolve();
    },

    async close() {
      if (closed) return;
      closed = true;
      const opened = await Promise.allSettled(logs.values());
      await Promise.all(opened.flatMap((log) => (log.status === 'fulfilled' ? [log.value.close()] : [])));
      await unlock();
    },
  };
}
