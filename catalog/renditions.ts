import { blobKeys } from '../lib/blob-keys.ts';
import type { OutputFormat } from '../lib/events/payloads.ts';
import { encodeAs, openImage, render } from '../lib/imaging/codec.ts';
import { canAnimate, CONTENT_TYPES } from '../lib/imaging/formats.ts';
import { canonicalise } from '../lib/transform/canonical.ts';
import { estimateTransform } from '../lib/transform/cost.ts';
import { assertFitsFormat } from '../lib/transform/planned-size.ts';
import type { TransformSlots } from '../lib/transform/transform-slots.ts';
import type { Servable } from './image-access.ts';
import type { MasterCache } from './master-cache.ts';
import { ownerOf, type ServableBlob, type StoredOnce } from './stored-once.ts';

export interface RenditionsOptions {
  readonly masters: MasterCache;
  readonly stored: StoredOnce;
  /** Conversions take their turn with transformations: they cost as much (an AVIF of 100 megapixels, gigabytes). */
  readonly slots: TransformSlots;
  readonly timeoutMs: () => number;
}

/**
 * The image in any output format: the compressed master when the format
 * matches, otherwise a conversion of the master made on first request, stored
 * under a deterministic key and served from the store afterwards. Concurrent
 * first requests share one conversion.
 */
export class Renditions {
  constructor(private readonly options: RenditionsOptions) {}

  /**
   * @throws InvalidRequestError (format_limit_exceeded) when the format cannot hold the image (WebP past 16383 pixels a side),
   * 422 too_costly when the conversion is over the budget, 503 when it cannot have its turn in time
   */
  async get(image: Servable, format: OutputFormat): Promise<ServableBlob> {
    const { master } = image;
    assertFitsFormat(master, format);
    const compressed = image.compression.master;
    const owner = ownerOf(image);
    const key = compressed.format === format ? compressed.key : blobKeys.rendition(owner, format);
    const { masters, stored, slots, timeoutMs } = this.options;
    const deadline = Date.now() + timeoutMs();
    return stored.get(key, owner, async () => {
      const estimate = estimateTransform(master, canonicalise({}, format));
      const converted = await slots.runLoaded(
        { tenant: image.tenant, estimate, deadline },
        { bytes: master.bytes, read: () => masters.read(master.key) },
        (bytes) => render(encodeAs(openImage(bytes, master.format, { stillOnly: !canAnimate(format) }), format, 'just-in-time'), format),
      );
      return { data: converted.data, contentType: CONTENT_TYPES[format] };
    });
  }
}
