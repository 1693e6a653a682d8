import { Gauge, type Registry } from 'prom-client';
import type { ImageId, Tenant } from '../lib/ids.ts';
import type { Logger } from '../lib/logger.ts';
import { contentSha256, type BlobInfo, type BlobStore } from '../lib/ports/blob-store.ts';
import type { BlobCache } from './blob-cache.ts';
import { imageNotFound, type Servable } from './image-access.ts';
import { SingleFlight } from './single-flight.ts';

/** The image a made blob is derived from. */
export interface BlobOwner {
  readonly tenant: Tenant;
  readonly imageId: ImageId;
  /**
   * The Last-Modified of every blob made from the image. A blob answered as
   * it is made and the same blob read back from the store (whose own time is
   * its put's, maybe a second later, in another process) must be one
   * representation to a cache, an If-Modified-Since and an If-Range.
   */
  readonly lastModified: Date;
}

/** What is made from a servable image is as old as its compressed master: the pixels it is made from are set by then. */
export const ownerOf = (image: Servable): BlobOwner => ({
  tenant: image.tenant,
  imageId: image.id,
  lastModified: new Date(image.compression.at),
});

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
  /** Whether the image is still there (not deleted): read from the catalog store once a blob of it is stored. */
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
 * A DELETE wins over a blob being made: once stored, a blob is kept only if
 * its image is still live (DELETE marks the image before it lists the blobs
 * to delete, so one of the two always sees the other). A DELETE through this
 * process (`forgetImage`) also has the blobs of its image being made answered
 * 404 and not stored, and waits for their puts under way, so that it answers
 * once they are gone. One through another process, while a blob was being
 * made for a request that had found the image live, lets that request be
 * answered: the two ran at the same time, and the put cleans up after itself.
 */
export class StoredOnce {
  readonly #flights = new SingleFlight<ServableBlob>();
  readonly #storing = new Map<string, Storing>();
  /** Blobs being made, by image; and which of those images were deleted through this process meanwhile. */
  readonly #making = new Map<ImageId, number>();
  readonly #deletedWhileMaking = new Set<ImageId>();

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

  /** @throws HttpError 404 not_found when the image was deleted through this process while its blob was being made */
  async get(key: string, owner: BlobOwner, make: () => Promise<MadeBlob>): Promise<ServableBlob> {
    const held = this.#held(key);
    if (held !== undefined) return held;
    const stored = await this.options.blobs.stat(key);
    if (stored !== null) return this.#remember({ ...stored, lastModified: owner.lastModified });
    return this.#flights.run(key, async () => {
      // A flight of this process may have made it since the look above (another process's: it is made again, the same bytes).
      const madeMeanwhile = this.#held(key);
      if (madeMeanwhile !== undefined) return madeMeanwhile;
      const { data, contentType } = await this.#madeUnlessDeleted(owner.imageId, make);
      const blob = { info: { key, size: data.length, contentType, sha256: contentSha256(data), lastModified: owner.lastModified }, data };
      this.#storeBehind(blob, owner);
      return blob;
    });
  }

  /**
   * For a DELETE of the image through this process, once it is marked deleted: the blobs of it being
   * made are answered 404 and not stored. Resolves once its puts under way have ended.
   */
  async forgetImage(imageId: ImageId): Promise<void> {
    if (this.#making.has(imageId)) this.#deletedWhileMaking.add(imageId);
    await this.settled(imageId);
  }

  /** Resolves once the puts begun so far (of `imageId`'s blobs only, when given) have ended. */
  async settled(imageId?: ImageId): Promise<void> {
    const puts = [...this.#storing.values()].filter(({ owner }) => imageId === undefined || owner.imageId === imageId);
    await Promise.all(puts.map(({ stored }) => stored));
  }

  /** @throws HttpError 404 not_found when the image was deleted through this process meanwhile */
  async #madeUnlessDeleted(imageId: ImageId, make: () => Promise<MadeBlob>): Promise<MadeBlob> {
    this.#making.set(imageId, (this.#making.get(imageId) ?? 0) + 1);
    try {
      const made = await make();
      if (this.#deletedWhileMaking.has(imageId)) throw imageNotFound();
      return made;
    } finally {
      const others = (this.#making.get(imageId) ?? 1) - 1;
      if (others > 0) this.#making.set(imageId, others);
      else {
        this.#making.delete(imageId);
        this.#deletedWhileMaking.delete(imageId);
      }
    }
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
        await blobs.put(key, blob.data, { contentType });
        if (!(await isLive(owner))) await blobs.delete(key);
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
