import type { BlobInfo, BlobStore } from '../lib/ports/blob-store.ts';
import { SingleFlight } from './single-flight.ts';

export interface MadeBlob {
  readonly data: Buffer;
  readonly contentType: string;
}

/**
 * Blobs made on first request and served from the store afterwards: callers
 * asking for one key while it is being made share the one piece of work.
 */
export class StoredOnce {
  readonly #flights = new SingleFlight<BlobInfo>();

  constructor(private readonly blobs: BlobStore) {}

  async get(key: string, make: () => Promise<MadeBlob>): Promise<BlobInfo> {
    const stored = await this.blobs.stat(key);
    if (stored !== null) return stored;
    return this.#flights.run(key, async () => {
      // Another flight for this key may have stored it since the look above.
      const storedMeanwhile = await this.blobs.stat(key);
      if (storedMeanwhile !== null) return storedMeanwhile;
      const { data, contentType } = await make();
      return this.blobs.put(key, data, { contentType });
    });
  }
}
