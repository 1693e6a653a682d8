import { join, resolve } from 'node:path';
import type { Statement } from 'better-sqlite3';
import { ProgImageError } from '../errors.ts';
import {
  acceptedValues,
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
import { attempt, identifier, openDatabase, type SqliteDatabase } from './sqlite/database.ts';
import { migrateJsonlCatalog, type MigratedRecord } from './sqlite/jsonl-catalog-migration.ts';

/*
 * The catalog store of `npm start`: SQLite in `<dataDir>/catalog.sqlite`.
 *
 * - One table per collection: the id, the version and the document as JSON
 *   text. Each declared index is an expression index on json_extract() of its
 *   fields (then the id, so that a page in id order is read off the index);
 *   `where` uses the same expressions, which is how SQLite picks the index.
 * - Compare-and-set is one statement (an insert that does nothing on a
 *   conflict, or an update whose WHERE names the version), and SQLite runs
 *   one writer at a time across every connection: exact across processes.
 * - WAL and a busy timeout (sqlite/database.ts) let several processes open
 *   the folder at once: `npm start` and `npm run admin`, say.
 */

const DATABASE_FILE = 'catalog.sqlite';
const COLLECTION_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,119}$/;
const FIELD_NAME = /^[A-Za-z_][A-Za-z0-9_-]*$/;
const RESERVED_FIELDS: readonly string[] = ['_id', '_version'];

const misuse = (message: string): ProgImageError => new ProgImageError(message, { retriable: false });

/** The value of `compute`, or its exception as a rejection: the port is asynchronous, better-sqlite3 is not. */
function settle<R>(compute: () => R): Promise<R> {
  return new Promise((resolve) => {
    resolve(compute());
  });
}

const tableOf = (collection: string): string => identifier(`collection:${collection}`);

function checkField(field: string): string {
  if (!FIELD_NAME.test(field) || RESERVED_FIELDS.includes(field)) {
    throw misuse(`cannot filter on "${field}": only top-level document fields can be matched`);
  }
  return field;
}

/** The SQL of a document's top-level field; index and query must spell it identically for SQLite to use the index. */
const fieldExpression = (field: string): string => `json_extract(document, '$."${checkField(field)}"')`;

function createTable(database: SqliteDatabase, collection: string): void {
  database.exec(
    `CREATE TABLE IF NOT EXISTS ${tableOf(collection)} (id TEXT PRIMARY KEY NOT NULL, version INTEGER NOT NULL, document TEXT NOT NULL)`,
  );
}

function createIndex(database: SqliteDatabase, collection: string, fields: readonly string[]): void {
  const name = identifier(`collection:${collection}:${fields.join(',')}`);
  const columns = [...fields.map(fieldExpression), 'id'].join(', ');
  database.exec(`CREATE INDEX IF NOT EXISTS ${name} ON ${tableOf(collection)} (${columns})`);
}

function insertMigrated(database: SqliteDatabase, collection: string, records: readonly MigratedRecord[]): void {
  createTable(database, collection);
  const insert = database.prepare(`INSERT OR REPLACE INTO ${tableOf(collection)} (id, version, document) VALUES (?, ?, ?)`);
  for (const { id, version, document } of records) insert.run(id, version, document);
}

/**
 * The SQL of one field's condition: equal to a value, to one of a list, or at
 * most a bound of the same JSON type (a JSON string never equals a number,
 * nor `true` the number 1, and SQLite would rank any number below any text).
 */
function fieldCondition(field: string, condition: FieldCondition, parameters: (string | number)[]): string {
  const type = `json_type(document, '$."${checkField(field)}"')`;
  if (isBound(condition)) {
    const bound = condition.atMost;
    parameters.push(bound);
    return `(${type} IN (${typeof bound === 'string' ? "'text'" : "'integer', 'real'"}) AND ${fieldExpression(field)} <= ?)`;
  }
  const values = acceptedValues(condition);
  const scalars = values.filter((value): value is string | number => typeof value !== 'boolean');
  const alternatives = values
    .filter((value): value is boolean => typeof value === 'boolean')
    .map((value) => `${type} = '${String(value)}'`);
  if (scalars.length > 0) {
    // IN and not ORs, so that an index on the field serves the list.
    alternatives.unshift(`${fieldExpression(field)} IN (${scalars.map(() => '?').join(', ')})`);
    parameters.push(...scalars);
  }
  if (alternatives.length === 0) return 'FALSE';
  return alternatives.length === 1 ? alternatives.join('') : `(${alternatives.join(' OR ')})`;
}

/** A WHERE clause matching every condition exactly. */
function whereClause(where: Where | undefined): { sql: string; parameters: (string | number)[] } {
  const parameters: (string | number)[] = [];
  const conditions = Object.entries(where ?? {}).map(([field, condition]) => fieldCondition(field, condition, parameters));
  return { sql: conditions.length === 0 ? 'TRUE' : conditions.join(' AND '), parameters };
}

/**
 * The scalar that json_type() and json_extract() of a field name, null for any other:
 * json_extract gives true and false as 1 and 0, and an object or an array as its JSON text.
 */
function jsonScalar(type: string | null, value: string | number | null): FieldValue | null {
  if (type === 'true' || type === 'false') return type === 'true';
  return type === 'text' || type === 'integer' || type === 'real' ? value : null;
}

interface StoredRow {
  readonly id: string;
  readonly version: number;
  readonly document: string;
}

class SqliteDocumentCollection<T extends Identified> implements DocumentCollection<T> {
  readonly #spec: CollectionSpec<T>;
  readonly #database: SqliteDatabase;
  readonly #table: string;
  readonly #statements = new Map<string, Statement>();

  constructor(spec: CollectionSpec<T>, database: SqliteDatabase) {
    this.#spec = spec;
    this.#database = database;
    this.#table = tableOf(spec.name);
  }

  get(id: string): Promise<Versioned<T> | null> {
    return settle(() => {
      const row = this.#run('get', `SELECT id, version, document FROM ${this.#table} WHERE id = ?`, (statement) => statement.get(id)) as
        StoredRow | undefined;
      return row === undefined ? null : { document: this.#decode(row), version: row.version };
    });
  }

  save(document: T, expectedVersion: number | null): Promise<number | null> {
    return settle(() => {
      for (const name of RESERVED_FIELDS) {
        if (Object.hasOwn(document, name)) throw misuse(`${this.#spec.name}: a document may not have a field named "${name}"`);
      }
      const json = JSON.stringify(document);
      if (expectedVersion === null) {
        const sql = `INSERT INTO ${this.#table} (id, version, document) VALUES (?, 1, ?) ON CONFLICT (id) DO NOTHING`;
        return this.#run('insert', sql, (statement) => statement.run(document.id, json)).changes === 1 ? 1 : null;
      }
      if (!Number.isSafeInteger(expectedVersion) || expectedVersion < 1) {
        throw misuse(`expected version must be a positive integer, got ${expectedVersion}`);
      }
      const sql = `UPDATE ${this.#table} SET version = version + 1, document = ? WHERE id = ? AND version = ?`;
      const { changes } = this.#run('update', sql, (statement) => statement.run(json, document.id, expectedVersion));
      return changes === 1 ? expectedVersion + 1 : null;
    });
  }

  find({ where, after, limit }: FindQuery): Promise<T[]> {
    return settle(() => {
      if (!Number.isSafeInteger(limit) || limit < 0) throw misuse(`limit must be a non-negative integer, got ${limit}`);
      const matching = whereClause(where);
      const cursor = after === undefined ? '' : ' AND id > ?';
      const sql = `SELECT id, version, document FROM ${this.#table} WHERE ${matching.sql}${cursor} ORDER BY id LIMIT ?`;
      const parameters = [...matching.parameters, ...(after === undefined ? [] : [after]), limit];
      const rows = this.#run('find', sql, (statement) => statement.all(...parameters)) as StoredRow[];
      return rows.map((row) => this.#decode(row));
    });
  }

  count(where?: Where): Promise<number> {
    return settle(() => {
      const matching = whereClause(where);
      const sql = `SELECT count(*) AS count FROM ${this.#table} WHERE ${matching.sql}`;
      const row = this.#run('count', sql, (statement) => statement.get(...matching.parameters)) as { count: number };
      return row.count;
    });
  }

  estimatedCount(): Promise<number> {
    return this.count();
  }

  countBy(field: string, where?: Where): Promise<ReadonlyMap<FieldValue | null, number>> {
    return settle(() => {
      const path = `'$."${checkField(field)}"'`;
      const matching = whereClause(where);
      const sql =
        `SELECT json_type(document, ${path}) AS type, json_extract(document, ${path}) AS value, count(*) AS count ` +
        `FROM ${this.#table} WHERE ${matching.sql} GROUP BY type, value`;
      const rows = this.#run('count by', sql, (statement) => statement.all(...matching.parameters)) as {
        type: string | null;
        value: string | number | null;
        count: number;
      }[];
      return countsByValue(rows.map(({ type, value, count }) => [jsonScalar(type, value), count] as const));
    });
  }

  delete(id: string): Promise<boolean> {
    return settle(() => this.#run('delete', `DELETE FROM ${this.#table} WHERE id = ?`, (statement) => statement.run(id)).changes === 1);
  }

  /** Runs `sql`, prepared once per collection. */
  #run<R>(operation: string, sql: string, execute: (statement: Statement) => R): R {
    return attempt(`${operation} in ${this.#spec.name}`, () => {
      let statement = this.#statements.get(sql);
      if (statement === undefined) {
        statement = this.#database.prepare(sql);
        this.#statements.set(sql, statement);
      }
      return execute(statement);
    });
  }

  #decode(row: StoredRow): T {
    const parsed = this.#spec.schema.safeParse(JSON.parse(row.document));
    if (!parsed.success) {
      const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`).join('; ');
      throw new ProgImageError(`stored document ${this.#spec.name}/${row.id} does not match its schema: ${problems}`, {
        retriable: false,
        cause: parsed.error,
      });
    }
    return parsed.data;
  }
}

/**
 * Opens (or creates) the embedded catalog store in `<dataDir>/catalog.sqlite`,
 * migrating the JSON-lines logs of earlier versions once.
 */
export function createEmbeddedCatalogStore(dataDir: string): Promise<CatalogStore> {
  return settle(() => {
    const directory = resolve(dataDir);
    const database = openDatabase(join(directory, DATABASE_FILE), { exclusive: false });
    try {
      migrateJsonlCatalog(database, directory, (collection, records) => {
        insertMigrated(database, collection, records);
      });
    } catch (error) {
      database.close();
      throw error;
    }
    return {
      collection<T extends Identified>(spec: CollectionSpec<T>): Promise<DocumentCollection<T>> {
        return settle(() => {
          if (!COLLECTION_NAME.test(spec.name)) {
            throw misuse(`collection name ${JSON.stringify(spec.name)} must match ${COLLECTION_NAME.source}`);
          }
          attempt(`creating collection ${spec.name}`, () => {
            createTable(database, spec.name);
            for (const fields of spec.indexes ?? []) createIndex(database, spec.name, fields);
          });
          return new SqliteDocumentCollection(spec, database);
        });
      },

      checkHealth: () => settle(() => attempt('checking health', () => database.prepare('SELECT 1').get())).then(() => undefined),

      close() {
        return settle(() => {
          if (database.open) database.close();
        });
      },
    };
  });
}
