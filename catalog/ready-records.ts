import { LRUCache } from 'lru-cache';
import type { Tenant } from '../lib/ids.ts';
import { BlobNotFoundError } from '../lib/ports/blob-store.ts';
import { findImage, isServable, type ImageLookup, type Servable } from './image-access.ts';
import type { ImageRecord } from './image-record.ts';

export interface ReadyRecordsOptions {
  /** Records held at most; the least recently read leave first. */
  readonly maxEntries: number;
  /** How long a record read is used again without reading it anew (0: never): the response cache's window. */
  readonly freshMs: number;
  /** The clock of `freshMs`, for tests; performance.now by default. */
  readonly now?: () => number;
}

/**
 * The records of ready images read lately, for the routes that serve their
 * pixels: a page asking for several sizes of one image at once (a srcset)
 * costs one catalog read (a MongoDB command and the driver's decoding), not
 * one per size.
 *
 * A ready image's record changes only when the image is deleted, found
 * infected or deduplicated, so a record is used for `freshMs` after it was
 * read, as a response is by the response cache (lib/http/response-cache.ts):
 * a change heard of by this process is forgotten at once, one through
 * another replica within `freshMs` (and a blob found gone sooner: `serve`).
 * Records of images not ready (still in the pipeline, failed) are read every
 * time.
 */
export class ReadyRecords {
  readonly #records: LRUCache<string, Servable> | null;

  constructor(
    private readonly lookup: ImageLookup,
    { maxEntries, freshMs, now }: ReadyRecordsOptions,
  ) {
    this.#records =
      freshMs > 0 && maxEntries > 0
        ? new LRUCache<string, Servable>({
            max: maxEntries,
            ttl: freshMs,
            // A clock of its own is read on every look (lru-cache otherwise reads it once a millisecond).
            ...(now === undefined ? {} : { perf: { now }, ttlResolution: 0 }),
          })
        : null;
  }

  /**
   * `serve` with the tenant's image of this id (any other a 404, as
   * findImage). A record held may name blobs that are gone since: the image
   * deleted, expired or deduplicated through another process. When `serve`
   * finds one gone, it runs once more with the record read anew.
   */
  async serve<T>(tenant: Tenant, id: string, serve: (image: ImageRecord) => Promise<T>): Promise<T> {
    const held = this.#records?.get(id);
    if (held?.tenant !== tenant) return serve(await this.#read(tenant, id));
    try {
      return await serve(held);
    } catch (error) {
      if (!(error instanceof BlobNotFoundError)) throw error;
      this.forget(id);
      return serve(await this.#read(tenant, id));
    }
  }

  forget(id: string): void {
    this.#records?.delete(id);
  }

  async #read(tenant: Tenant, id: string): Promise<ImageRecord> {
    const found = await findImage(this.lookup, tenant, id);
    if (found.status === 'ready' && isServable(found)) this.#records?.set(id, found);
    return found;
  }
}
