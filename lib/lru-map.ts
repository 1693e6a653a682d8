export interface LruMapOptions<K, V extends object> {
  /** What one entry counts against the budget; 1 by default, so the budget is a number of entries. */
  readonly weigh?: (value: V) => number;
  /** Hears of every entry that leaves to keep the map within its budget (not of those deleted or replaced). */
  readonly onEvict?: (key: K, value: V) => void;
}

/**
 * A map that keeps its entries within a budget: once over it, the least
 * recently used entries leave first. `set` and `get` make an entry the most
 * recently used; `peek` reads it without changing its place.
 */
export class LruMap<K, V extends object> {
  // Map keeps insertion order, so re-inserting marks an entry most recently used and the first entries are the least recent.
  readonly #entries = new Map<K, V>();
  readonly #weigh: (value: V) => number;
  readonly #onEvict: (key: K, value: V) => void;
  #weight = 0;

  constructor(
    private readonly budget: number,
    { weigh = () => 1, onEvict = () => undefined }: LruMapOptions<K, V> = {},
  ) {
    this.#weigh = weigh;
    this.#onEvict = onEvict;
  }

  get(key: K): V | undefined {
    const value = this.#entries.get(key);
    if (value === undefined) return undefined;
    this.#entries.delete(key);
    this.#entries.set(key, value);
    return value;
  }

  peek(key: K): V | undefined {
    return this.#entries.get(key);
  }

  /** The least recently used entry, without changing its place. */
  oldest(): readonly [K, V] | undefined {
    for (const entry of this.#entries) return entry;
    return undefined;
  }

  /** Stores `value` as the most recently used; an entry heavier than the whole budget leaves at once. */
  set(key: K, value: V): void {
    this.delete(key);
    this.#entries.set(key, value);
    this.#weight += this.#weigh(value);
    for (const [oldest, evicted] of this.#entries) {
      if (this.#weight <= this.budget) break;
      this.delete(oldest);
      this.#onEvict(oldest, evicted);
    }
  }

  delete(key: K): boolean {
    const value = this.#entries.get(key);
    if (value === undefined) return false;
    this.#entries.delete(key);
    this.#weight -= this.#weigh(value);
    return true;
  }
}
