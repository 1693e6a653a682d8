import { LRUCache } from 'lru-cache';
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
  readonly #entries: LRUCache<string, CachedBlob>;

  constructor(
    maxBytes: number,
    /** Larger blobs are streamed from the store, never cached. */
    readonly maxBlobBytes: number,
  ) {
    this.#entries = new LRUCache({
      maxSize: maxBytes,
      // lru-cache counts sizes as positive integers: an empty blob counts as one byte.
      sizeCalculation: (entry) => Math.max(1, entry.data.length),
    });
  }

  get(key: string): CachedBlob | undefined {
    return this.#entries.get(key);
  }

  set(key: string, entry: CachedBlob): void {
    if (entry.data.length > this.maxBlobBytes) return;
    this.#entries.set(key, entry);
  }
}
