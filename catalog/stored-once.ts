import { Gauge, type Registry } from 'prom-client';
import type { ImageId, Tenant } from '../lib/ids.ts';
import type { Logger } from '../lib/logger.ts';
import { contentSha256, type BlobInfo, type BlobStore } from '../lib/ports/blob-store.ts';
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

/** A blob made and answered with, on its way into the store. */
interface Storing {
  readonly blob: Required<ServableBlob>;
  readonly owner: BlobOwner;
  readonly stored: Promise<void>;
}

export interface StoredOnceOptions {
  readonly blobs: BlobStore;
  readonly cache: BlobCache;
  /** Whether the image is still there (not deleted): read from the catalog store. */
  readonly isLive: (owner: BlobOwner) => Promise<boolean>;
  readonly log: Logger;
  readonly metrics: Registry;
}

/**
 * Blobs made on first request and served from the store afterwards: callers
 * asking for one key while it is being made share the one piece of work.
 * Small ones are kept in `cache`, so a hit costs no store round trip.
 *
 * A made blob is answered with before it is stored: the store's put (a
 * durable write, two fsyncs on the folder store, a PUT to MinIO) is the
 * filling of a cache, and no client needs to wait for it. Until it is
 * stored, requests for it get it from memory; a put that fails is logged,
 * and the blob is made again by the next request that misses it.
 *
 * A DELETE wins over a blob being made: a blob made for an image deleted
 * meanwhile is answered 404 and not stored, and once stored it is kept only if
 * its image is still live (DELETE marks the image before it lists the blobs
 * to delete, so one of the two always sees the other). A DELETE through this
 * process also waits for the puts of its image (`settled`), so that it answers
 * once they are gone.
 */
export class StoredOnce {
  readonly #flights = new SingleFlight<ServableBlob>();
  readonly #storing = new Map<string, Storing>();

  constructor(private readonly options: StoredOnceOptions) {
    const storing = this.#storing;
    new Gauge({
      name: 'progimage_made_blobs_storing',
      help: 'Renditions and transformations answered with and still being written to the blob store',
      registers: [options.metrics],
      collect() {
        this.set(storing.size);
      },
    });
  }

  /** @throws HttpError 404 not_found when the image was deleted while its blob was being made */
  async get(key: string, owner: BlobOwner, make: () => Promise<MadeBlob>): Promise<ServableBlob> {
    const held = this.#held(key);
    if (held !== undefined) return held;
    const stored = await this.options.blobs.stat(key);
    if (stored !== null) return this.#remember(stored);
    return this.#flights.run(key, async () => {
      // A flight of this process may have made it since the look above (another process's: it is made again, the same bytes).
      const madeMeanwhile = this.#held(key);
      if (madeMeanwhile !== undefined) return madeMeanwhile;
      const { data, contentType } = await make();
      if (!(await this.options.isLive(owner))) throw imageNotFound();
      const blob = { info: { key, size: data.length, contentType, sha256: contentSha256(data), lastModified: new Date() }, data };
      this.#storeBehind(blob, owner);
      return blob;
    });
  }

  /** Resolves once the puts begun so far (of `imageId`'s blobs only, when given) have ended. */
  async settled(imageId?: ImageId): Promise<void> {
    const puts = [...this.#storing.values()].filter(({ owner }) => imageId === undefined || owner.imageId === imageId);
    await Promise.all(puts.map(({ stored }) => stored));
  }

  #held(key: string): ServableBlob | undefined {
    return this.options.cache.get(key) ?? this.#storing.get(key)?.blob;
  }

  #storeBehind(blob: Required<ServableBlob>, owner: BlobOwner): void {
    const { blobs, cache, isLive, log } = this.options;
    const { key, contentType } = blob.info;
    cache.set(key, blob);
    const stored = (async () => {
      try {
        const info = await blobs.put(key, blob.data, { contentType });
        if (await isLive(owner)) cache.set(key, { info, data: blob.data });
        else await blobs.delete(key);
      } catch (error) {
        log.warn({ err: error, key }, 'storing a made blob failed; the next request that misses it makes it again');
      } finally {
        this.#storing.delete(key);
      }
    })();
    this.#storing.set(key, { blob, owner, stored });
  }

  async #remember(info: BlobInfo): Promise<ServableBlob> {
    const { blobs, cache } = this.options;
    if (info.size > cache.maxBlobBytes) return { info };
    const data = await blobs.get(info.key);
    // The bytes read must be the ones the stat described (a derived key's content does not change, but be sure).
    if (data.length !== info.size) return { info };
    cache.set(info.key, { info, data });
    return { info, data };
  }
}
