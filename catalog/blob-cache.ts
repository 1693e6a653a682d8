import type { BlobInfo } from '../lib/ports/blob-store.ts';

export interface CachedBlob {
  readonly info: BlobInfo;
  readonly data: Buffer;
}

/**
 * The most recently served small derived blobs, in memory. What is stored
 * under a derived key never changes (a new master is a new image id), so an
 * entry never goes stale (a deleted image is refused before its cache is
 * looked at, and its entries age out).
 * Least recently used entries leave first once `maxBytes` is reached.
 */
export class BlobCache {
  readonly #entries = new Map<string, CachedBlob>();
  #bytes = 0;

  constructor(
    private readonly maxBytes: number,
    /** Larger blobs are streamed from the store, never cached. */
    readonly maxBlobBytes: number,
  ) {}

  get(key: string): CachedBlob | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    // Map keeps insertion order: re-inserting marks the entry most recently used.
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    return entry;
  }

  set(key: string, entry: CachedBlob): void {
    if (entry.data.length > this.maxBlobBytes) return;
    this.#delete(key);
    this.#entries.set(key, entry);
    this.#bytes += entry.data.length;
    for (const [oldest, cached] of this.#entries) {
      if (this.#bytes <= this.maxBytes) break;
      this.#entries.delete(oldest);
      this.#bytes -= cached.data.length;
    }
  }

  #delete(key: string): void {
    const entry = this.#entries.get(key);
    if (entry === undefined) return;
    this.#entries.delete(key);
    this.#bytes -= entry.data.length;
  }
}
