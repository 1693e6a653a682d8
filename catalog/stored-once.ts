import type { ImageId, Tenant } from '../lib/ids.ts';
import type { BlobInfo, BlobStore } from '../lib/ports/blob-store.ts';
import type { BlobCache } from './blob-cache.ts';
import { imageNotFound } from './image-access.ts';
import { SingleFlight } from './single-flight.ts';

/** The image a made blob is derived from. */
export interface BlobOwner {
  readonly tenant: Tenant;
  readonly imageId: ImageId;
}

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
 * A DELETE wins over a blob being made: once stored, the blob is kept only if
 * its image is still live (DELETE marks the image before it lists the blobs
 * to delete, so one of the two always sees the other).
 */
export class StoredOnce {
  readonly #flights = new SingleFlight<ServableBlob>();

  constructor(
    private readonly blobs: BlobStore,
    private readonly cache: BlobCache,
    private readonly isLive: (owner: BlobOwner) => Promise<boolean>,
  ) {}

  /** @throws HttpError 404 not_found when the image was deleted while its blob was being made */
  async get(key: string, owner: BlobOwner, make: () => Promise<MadeBlob>): Promise<ServableBlob> {
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
      if (!(await this.isLive(owner))) {
        await this.blobs.delete(key);
        throw imageNotFound();
      }
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
