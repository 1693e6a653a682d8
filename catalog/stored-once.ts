import type { BlobInfo, BlobStore } from '../lib/ports/blob-store.ts';
import type { BlobCache } from './blob-cache.ts';
import { SingleFlight } from './single-flight.ts';

export interface MadeBlob {
  readonly data: Buffer;
  readonly contentType: string;
}

/** A blob to serve: its bytes when they are at hand (small, recently served), else stream it from the store. */
export interface ServableBlob {
  readonly info: BlobInfo;
  readonly data?: Buffer;
}

/**
 * Blobs made on first request and served from the store afterwards: callers
 * asking for one key while it is being made share the one piece of work.
 * Small ones are kept in `cache`, so a hit costs no store round trip.
 */
export class StoredOnce {
  readonly #flights = new SingleFlight<ServableBlob>();

  constructor(
    private readonly blobs: BlobStore,
    private readonly cache: BlobCache,
  ) {}

  async get(key: string, make: () => Promise<MadeBlob>): Promise<ServableBlob> {
    const cached = this.cache.get(key);
    if (cached !== undefined) return cached;
    const stored = await this.blobs.stat(key);
    if (stored !== null) return this.#remember(stored);
    return this.#flights.run(key, async () => {
      // Another flight for this key may have stored it since the look above.
      const storedMeanwhile = await this.blobs.stat(key);
      if (storedMeanwhile !== null) return this.#remember(storedMeanwhile);
      const { data, contentType } = await make();
      const info = await this.blobs.put(key, data, { contentType });
      this.cache.set(key, { info, data });
      return { info, data };
    });
  }

  async #remember(info: BlobInfo): Promise<ServableBlob> {
    if (info.size > this.cache.maxBlobBytes) return { info };
    const data = await this.blobs.get(info.key);
    // The bytes read must be the ones the stat described (a derived key's content does not change, but be sure).
    if (data.length !== info.size) return { info };
    this.cache.set(info.key, { info, data });
    return { info, data };
  }
}
