import type { z } from 'zod';

export interface Identified {
  readonly id: string;
}

export interface Versioned<T> {
  readonly document: T;
  /** Increases by one on every save; the basis of compare-and-set. */
  readonly version: number;
}

/** Scalar fields a query can match on with equality. */
export type FieldValue = string | number | boolean;

/**
 * A field's value at most this one, and of its type: a number by value, a
 * string by code points (so an ISO timestamp in UTC by time). A field that
 * is absent, null or of the other type does not match.
 */
export interface AtMost {
  readonly atMost: string | number;
}

/** What a field must be: equal to a value, to any one of a list of values (none, for an empty list), or at most a value. */
export type FieldCondition = FieldValue | readonly FieldValue[] | AtMost;

/** Top-level fields and the condition each must meet. */
export type Where = Readonly<Record<string, FieldCondition>>;

export const isBound = (condition: FieldCondition): condition is AtMost => typeof condition === 'object' && 'atMost' in condition;

/** The values a condition of equality accepts. */
export const acceptedValues = (condition: FieldValue | readonly FieldValue[]): readonly FieldValue[] =>
  typeof condition === 'object' ? condition : [condition];

export interface FindQuery {
  readonly where?: Where;
  /** Return documents whose id sorts after this one (a cursor). */
  readonly after?: string;
  readonly limit: number;
}

/**
 * One collection of JSON documents keyed by `id`. Writes are compare-and-set
 * on a version, so concurrent writers (two catalog replicas) never lose an
 * update: the loser re-reads and tries again.
 */
export interface DocumentCollection<T extends Identified> {
  get(id: string): Promise<Versioned<T> | null>;
  /**
   * Inserts (`expectedVersion` null) or replaces the document if its stored
   * version still equals `expectedVersion`. Resolves to the new version, or
   * null when another writer got there first.
   */
  save(document: T, expectedVersion: number | null): Promise<number | null>;
  /** Documents matching `where`, in ascending id order. */
  find(query: FindQuery): Promise<T[]>;
  count(where?: Where): Promise<number>;
  /**
   * How many documents there are, from the store's own bookkeeping where it
   * keeps one (MongoDB's collection metadata): instant whatever the size, and
   * possibly off for a while after an unclean shutdown. For rates and
   * estimates, never for a limit.
   */
  estimatedCount(): Promise<number>;
  /**
   * The documents matching `where`, counted by their value of the top-level
   * `field` (null: absent, null, or not a scalar), in one read: where several
   * counts would each read the collection, on a server that cannot count by
   * an index (FerretDB v1 on SQLite reads and decodes every document for each).
   */
  countBy(field: string, where?: Where): Promise<ReadonlyMap<FieldValue | null, number>>;
  /** Resolves true when a document was removed. */
  delete(id: string): Promise<boolean>;
}

/**
 * countBy's answer from the groups a store read, each a value and how many
 * documents have it: a value that is not a scalar counts as null, and groups
 * that come to the same value (null, absent, an object…) are added up.
 */
export function countsByValue(groups: Iterable<readonly [value: unknown, count: number]>): Map<FieldValue | null, number> {
  const counts = new Map<FieldValue | null, number>();
  for (const [value, count] of groups) {
    const scalar = typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' ? value : null;
    counts.set(scalar, (counts.get(scalar) ?? 0) + count);
  }
  return counts;
}

export interface CollectionSpec<T extends Identified> {
  readonly name: string;
  /** Every document read back is validated against it. */
  readonly schema: z.ZodType<T>;
  /** Fields that `find` filters on, indexed together in this order. */
  readonly indexes?: readonly (readonly string[])[];
}

/** The catalog store port: the catalog service is its only user. */
export interface CatalogStore {
  collection<T extends Identified>(spec: CollectionSpec<T>): Promise<DocumentCollection<T>>;
  checkHealth(): Promise<void>;
  close(): Promise<void>;
}
