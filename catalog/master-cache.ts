import { LRUCache } from 'lru-cache';
import { Counter, type Registry } from 'prom-client';
import type { BlobStore } from '../lib/ports/blob-store.ts';

export interface MasterCacheLimits {
  /** Bytes of masters held at most; the least recently read leave first. */
  readonly maxBytes: number;
  /** Larger masters are read from the store every time, never held. */
  readonly maxMasterBytes: number;
}

/**
 * The masters of stored images read lately, in memory, for the
 * transformations and conversions made from them on request. A page asks for
 * several widths of one image at once: with its master at hand, each miss
 * after the first costs no store round trip (a GET of the whole master, the
 * largest read of a miss), and misses of one image that arrive together share
 * one read.
 *
 * What is stored under a master's key never changes (a new master is a new
 * image id), so an entry never goes stale; a deleted image is refused before
 * its master is asked for, and its entry ages out.
 */
export class MasterCache {
  readonly #entries: LRUCache<string, Buffer>;
  readonly #reads: Counter<'from'>;

  constructor(blobs: BlobStore, limits: MasterCacheLimits, metrics: Registry) {
    this.#entries = new LRUCache<string, Buffer>({
      maxSize: limits.maxBytes,
      maxEntrySize: limits.maxMasterBytes,
      // lru-cache counts sizes as positive integers: an empty blob counts as one byte.
      sizeCalculation: (data) => Math.max(1, data.length),
      fetchMethod: (key) => blobs.get(key),
    });
    this.#reads = new Counter({
      name: 'progimage_master_reads_total',
      help: 'Masters read to make a transformation or conversion, by where from (memory: held or being read already; store)',
      labelNames: ['from'] as const,
      registers: [metrics],
    });
  }

  /** The master's bytes. @throws what the blob store's get throws (a read that failed is not held) */
  async read(key: string): Promise<Buffer> {
    const status: LRUCache.Status<string, Buffer> = {};
    const data = await this.#entries.fetch(key, { status });
    this.#reads.inc({ from: status.fetch === 'miss' ? 'store' : 'memory' });
    // fetch resolves undefined only when fetchMethod does, and a blob store's get never does.
    if (data === undefined) throw new Error(`reading the master ${key} gave nothing`);
    return data;
  }
}
