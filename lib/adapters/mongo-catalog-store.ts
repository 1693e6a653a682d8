import {
  MongoClient,
  MongoError,
  MongoNetworkError,
  MongoOperationTimeoutError,
  MongoServerError,
  MongoServerSelectionError,
  type Collection,
  type Filter,
} from 'mongodb';
import type { MongoConfig } from '../config/index.ts';
import { DependencyUnavailableError, ProgImageError } from '../errors.ts';
import {
  countsByValue,
  isBound,
  type CatalogStore,
  type CollectionSpec,
  type DocumentCollection,
  type FieldCondition,
  type FieldValue,
  type FindQuery,
  type Identified,
  type Versioned,
  type Where,
} from '../ports/catalog-store.ts';

/**
 * The catalog store on MongoDB (official driver). A document `{ id, ...fields }`
 * is stored flat as `{ _id: id, _version, ...fields }`, so operators can query
 * it by its fields; compare-and-set is a replaceOne filtered on `_id` and `_version`.
 *
 * It keeps to what FerretDB v1 (the local stack) also implements: CRUD with
 * equality and `$gt` filters, sort, limit, createIndex and one aggregation
 * (`$match` then `$group`, for countBy). No transactions or change streams.
 *
 * FerretDB v1.24 on SQLite does not apply an update's filter atomically: of
 * ten concurrent replaceOne({ _id, _version: 1 }) calls, several "match". Saves
 * and deletes are therefore also serialised per document inside this process,
 * which makes compare-and-set exact for one catalog process on any server.
 * Across processes it is exact on MongoDB only.
 *
 * A released FerretDB v1 on SQLite reads by its primary key only when a
 * filter is `_id` alone, and decodes every document for `{ _id, _version }`;
 * the local stack builds it to narrow by `_id` whenever a filter holds one
 * (infra/local/servers/ferretdb.ts).
 */

interface StoredDocument {
  _id: string;
  _version: number;
  [field: string]: unknown;
}

const DUPLICATE_KEY = 11000;
const RESERVED_FIELDS = ['_id', '_version'] as const;
const COLLECTION_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,119}$/;

/** Server error codes that mean "this server cannot serve you right now", not "your request is wrong". */
const UNAVAILABLE_CODES = new Set([
  6, // HostUnreachable
  7, // HostNotFound
  89, // NetworkTimeout
  91, // ShutdownInProgress
  189, // PrimarySteppedDown
  9001, // SocketException
  10107, // NotWritablePrimary
  11600, // InterruptedAtShutdown
  11602, // InterruptedDueToReplStateChange
  13435, // NotPrimaryNoSecondaryOk
  13436, // NotPrimaryOrSecondary
]);

function isUnavailable(error: unknown): boolean {
  if (error instanceof MongoNetworkError || error instanceof MongoServerSelectionError || error instanceof MongoOperationTimeoutError) {
    return true;
  }
  if (!(error instanceof MongoError)) return false;
  if (error.hasErrorLabel('RetryableWriteError') || error.hasErrorLabel('ResetPool')) return true;
  return typeof error.code === 'number' && UNAVAILABLE_CODES.has(error.code);
}

/** Connection problems become DependencyUnavailableError; anything else is rethrown as it is. */
function mapError(error: unknown, what: string): unknown {
  return isUnavailable(error) ? new DependencyUnavailableError(`MongoDB unavailable while ${what}`, error) : error;
}

const misuse = (message: string): ProgImageError => new ProgImageError(message, { retriable: false });

function assertStorable(fields: Readonly<Record<string, unknown>>, collection: string): void {
  for (const name of RESERVED_FIELDS) {
    if (Object.hasOwn(fields, name)) throw misuse(`${collection}: a document may not have a field named "${name}"`);
  }
}

/** The stored name of a top-level field a filter or a count may name: `id` is stored as `_id`. */
function storedField(field: string): string {
  if (field.startsWith('$') || field.includes('.') || (RESERVED_FIELDS as readonly string[]).includes(field)) {
    throw misuse(`cannot filter on "${field}": only top-level document fields can be matched`);
  }
  return field === 'id' ? '_id' : field;
}

/** `{ $eq: value }`, `{ $in: values }` for a list, `{ $lte: bound }` for a bound (MongoDB compares values of one type only, as the port says). */
function matching(condition: FieldCondition): Record<string, unknown> {
  if (isBound(condition)) return { $lte: condition.atMost };
  return typeof condition === 'object' ? { $in: [...condition] } : { $eq: condition };
}

function toFilter(where: Where | undefined, after?: string): Filter<StoredDocument> {
  const filter: Record<string, unknown> = {};
  for (const [field, condition] of Object.entries(where ?? {})) filter[storedField(field)] = matching(condition);
  const id = where?.id;
  // An id alone as a plain value: the one filter FerretDB v1 on SQLite does not answer by decoding every document.
  if (after === undefined) {
    if (id !== undefined && typeof id !== 'object') filter._id = id;
  } else {
    filter._id = { ...(id === undefined ? {} : matching(id)), $gt: after };
  }
  return filter;
}

function assertLimit(limit: number): void {
  if (!Number.isSafeInteger(limit) || limit < 0) throw misuse(`limit must be a non-negative integer, got ${limit}`);
}

function assertVersion(version: number): void {
  if (!Number.isSafeInteger(version) || version < 1) {
    throw misuse(`expected version must be a positive integer, got ${version}`);
  }
}

/** Runs tasks with the same key one after another; different keys run concurrently. */
function createKeyedSerializer(): <R>(key: string, task: () => Promise<R>) => Promise<R> {
  const tails = new Map<string, Promise<void>>();
  return (key, task) => {
    const previous = tails.get(key) ?? Promise.resolve();
    const result = previous.then(task);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    tails.set(key, tail);
    void tail.then(() => {
      if (tails.get(key) === tail) tails.delete(key);
    });
    return result;
  };
}

class MongoDocumentCollection<T extends Identified> implements DocumentCollection<T> {
  readonly #spec: CollectionSpec<T>;
  readonly #collection: Collection<StoredDocument>;
  readonly #serialize = createKeyedSerializer();

  constructor(spec: CollectionSpec<T>, collection: Collection<StoredDocument>) {
    this.#spec = spec;
    this.#collection = collection;
  }

  async get(id: string): Promise<Versioned<T> | null> {
    const stored = await this.#collection.findOne({ _id: id }).catch((error: unknown) => {
      throw mapError(error, `reading ${this.#spec.name}/${id}`);
    });
    return stored === null ? null : this.#decode(stored);
  }

  async save(document: T, expectedVersion: number | null): Promise<number | null> {
    const { id, ...fields } = document;
    assertStorable(fields, this.#spec.name);
    if (expectedVersion !== null) assertVersion(expectedVersion);
    return this.#serialize(id, async () => {
      try {
        if (expectedVersion === null) {
          await this.#collection.insertOne({ _id: id, _version: 1, ...fields });
          return 1;
        }
        const version = expectedVersion + 1;
        const { matchedCount } = await this.#collection.replaceOne(
          { _id: id, _version: expectedVersion },
          { _version: version, ...fields },
        );
        return matchedCount === 1 ? version : null;
      } catch (error) {
        if (error instanceof MongoServerError && error.code === DUPLICATE_KEY) return null;
        throw mapError(error, `saving ${this.#spec.name}/${id}`);
      }
    });
  }

  async find(query: FindQuery): Promise<T[]> {
    assertLimit(query.limit);
    if (query.limit === 0) return []; // MongoDB reads limit 0 as "no limit"
    const filter = toFilter(query.where, query.after);
    try {
      const stored = await this.#collection.find(filter).sort({ _id: 1 }).limit(query.limit).toArray();
      return stored.map((one) => this.#decode(one).document);
    } catch (error) {
      throw mapError(error, `querying ${this.#spec.name}`);
    }
  }

  async count(where?: Where): Promise<number> {
    const filter = toFilter(where);
    return this.#collection.countDocuments(filter).catch((error: unknown) => {
      throw mapError(error, `counting ${this.#spec.name}`);
    });
  }

  /**
   * `$collStats`' count, not the driver's estimatedDocumentCount: both are the
   * collection's own count on MongoDB (one per shard, added up), but FerretDB
   * answers the `count` command behind estimatedDocumentCount by reading and
   * decoding every document (282 ms of its CPU at 432 images, against 2.7).
   */
  async estimatedCount(): Promise<number> {
    try {
      const shards = await this.#collection.aggregate<{ count: number }>([{ $collStats: { count: {} } }]).toArray();
      return shards.reduce((sum, shard) => sum + shard.count, 0);
    } catch (error) {
      throw mapError(error, `counting ${this.#spec.name}`);
    }
  }

  async countBy(field: string, where?: Where): Promise<ReadonlyMap<FieldValue | null, number>> {
    const key = storedField(field);
    const filter = toFilter(where);
    try {
      const groups = await this.#collection
        .aggregate<{ _id: unknown; n: number }>([{ $match: filter }, { $group: { _id: `$${key}`, n: { $sum: 1 } } }])
        .toArray();
      return countsByValue(groups.map(({ _id: value, n }) => [value, n] as const));
    } catch (error) {
      throw mapError(error, `counting ${this.#spec.name} by ${field}`);
    }
  }

  async delete(id: string): Promise<boolean> {
    return this.#serialize(id, async () => {
      const { deletedCount } = await this.#collection.deleteOne({ _id: id }).catch((error: unknown) => {
        throw mapError(error, `deleting ${this.#spec.name}/${id}`);
      });
      return deletedCount === 1;
    });
  }

  #decode(stored: StoredDocument): Versioned<T> {
    const { _id: id, _version: version, ...fields } = stored;
    const parsed = this.#spec.schema.safeParse({ id, ...fields });
    if (!parsed.success || !Number.isSafeInteger(version)) {
      const problems = parsed.success
        ? `_version is ${JSON.stringify(version)}`
        : parsed.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`).join('; ');
      throw new ProgImageError(`stored document ${this.#spec.name}/${id} does not match its schema: ${problems}`, {
        retriable: false,
        cause: parsed.error,
      });
    }
    return { document: parsed.data, version };
  }
}

/**
 * Connects to MongoDB (or FerretDB) and resolves once a server answered.
 * Driver options (timeouts, TLS, auth) come from the connection string.
 * @throws DependencyUnavailableError when no server can be reached.
 */
export async function createMongoCatalogStore(config: MongoConfig): Promise<CatalogStore> {
  // Without ignoreUndefined the driver stores `field: undefined` as null, which a schema reading it back rejects.
  // socketTimeoutMS: a server that stops answering mid-operation fails it (by default the driver waits forever,
  // and its timeoutMS is ignored since driver 7); connectTimeoutMS bounds the handshake of the retry that follows.
  // Finding no server at all fails after serverSelectionTimeoutMS (30 s).
  const client = new MongoClient(config.url, {
    ignoreUndefined: true,
    socketTimeoutMS: config.timeoutMs,
    connectTimeoutMS: config.timeoutMs,
  });
  try {
    await client.connect();
  } catch (error) {
    await client.close().catch(() => undefined);
    throw mapError(error, 'connecting');
  }
  const database = client.db(config.database);
  /** One createIndex round per collection and index in the life of the store. */
  const indexes = new Map<string, Promise<unknown>>();

  function ensureIndex(collection: Collection<StoredDocument>, fields: readonly string[]): Promise<unknown> {
    // _id last: the equality fields narrow, the id range and sort of find() then read the index in order.
    const keys = Object.fromEntries([...fields.filter((field) => field !== 'id'), '_id'].map((field) => [field, 1]));
    const key = `${collection.collectionName}\0${Object.keys(keys).join('\0')}`;
    let created = indexes.get(key);
    if (created === undefined) {
      created = collection.createIndex(keys, {}, undefined).catch((error: unknown) => {
        indexes.delete(key);
        throw mapError(error, `creating an index on ${collection.collectionName}`);
      });
      indexes.set(key, created);
    }
    return created;
  }

  return {
    async collection<T extends Identified>(spec: CollectionSpec<T>): Promise<DocumentCollection<T>> {
      if (!COLLECTION_NAME.test(spec.name)) {
        throw misuse(`collection name ${JSON.stringify(spec.name)} must match ${COLLECTION_NAME.source}`);
      }
      const collection = database.collection<StoredDocument>(spec.name);
      await Promise.all((spec.indexes ?? []).map((fields) => ensureIndex(collection, fields)));
      return new MongoDocumentCollection(spec, collection);
    },

    async checkHealth() {
      await database.command({ ping: 1 }).catch((error: unknown) => {
        throw mapError(error, 'pinging');
      });
    },

    async close() {
      await client.close();
    },
  };
}
