import { blobKeys } from '../lib/blob-keys.ts';
import type { OutputFormat } from '../lib/events/payloads.ts';
import { encodeAs, openImage, render } from '../lib/imaging/codec.ts';
import { canAnimate, CONTENT_TYPES } from '../lib/imaging/formats.ts';
import type { BlobStore } from '../lib/ports/blob-store.ts';
import { assertFitsFormat } from '../lib/transform/planned-size.ts';
import type { Servable } from './image-access.ts';
import type { ServableBlob, StoredOnce } from './stored-once.ts';

/**
 * The image in any output format: the compressed master when the format
 * matches, otherwise a conversion of the master made on first request, stored
 * under a deterministic key and served from the store afterwards. Concurrent
 * first requests share one conversion.
 */
export class Renditions {
  constructor(
    private readonly blobs: BlobStore,
    private readonly stored: StoredOnce,
  ) {}

  /** @throws HttpError 400 format_limit_exceeded when the format cannot hold the image (WebP past 16383 pixels a side) */
  async get(image: Servable, format: OutputFormat): Promise<ServableBlob> {
    const { master } = image;
    assertFitsFormat(master, format);
    const compressed = image.compression.master;
    const owner = { tenant: image.tenant, imageId: image.id };
    const key = compressed.format === format ? compressed.key : blobKeys.rendition(owner, format);
    return this.stored.get(key, owner, async () => {
      const source = openImage(await this.blobs.get(master.key), master.format, { stillOnly: !canAnimate(format) });
      const converted = await render(encodeAs(source, format, 'just-in-time'), format);
      return { data: converted.data, contentType: CONTENT_TYPES[format] };
    });
  }
}
