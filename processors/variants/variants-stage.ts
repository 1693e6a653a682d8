import { blobKeys } from '../../lib/blob-keys.ts';
import { createEvent, type EventOf, type ImageEvent } from '../../lib/events/envelope.ts';
import type { Variant } from '../../lib/events/payloads.ts';
import { TOPICS } from '../../lib/events/topics.ts';
import { CONTENT_TYPES } from '../../lib/imaging/formats.ts';
import type { ConcurrencyLimit } from '../../lib/concurrency.ts';
import type { BlobStore } from '../../lib/ports/blob-store.ts';
import type { TransformSettings } from '../../lib/config/index.ts';
import { makeVariants } from '../../lib/transform/variants.ts';

export interface VariantsStageDependencies {
  readonly blobs: BlobStore;
  /** The presets and deadline in force when an image's variants are made. */
  readonly transforms: () => TransformSettings;
  /** Bounds the process's pixel work: taken for each variant made, not while one is stored. */
  readonly pixelWork: ConcurrencyLimit;
}

/** image.compressed → image.variants-built: every preset in every variant format, from the master. */
export function createVariantsStage({ blobs, transforms, pixelWork }: VariantsStageDependencies) {
  return async (event: EventOf<typeof TOPICS.imageCompressed>): Promise<readonly ImageEvent[]> => {
    const { master } = event.payload;
    const source = {
      bytes: await blobs.get(master.key),
      format: master.format,
      pages: master.pages,
      width: master.width,
      height: master.height,
      upright: true,
    };
    const variants: Variant[] = [];
    const { presets, timeoutMs } = transforms();
    const made = makeVariants(source, presets, timeoutMs)[Symbol.asyncIterator]();
    for (;;) {
      const next = await pixelWork.run(() => made.next());
      if (next.done === true) break;
      const { name, image } = next.value;
      const key = blobKeys.variant(event, name, image.format);
      const stored = await blobs.put(key, image.data, { contentType: CONTENT_TYPES[image.format] });
      variants.push({ name, key, format: image.format, width: image.width, height: image.height, bytes: stored.size, pages: image.pages });
    }
    return [createEvent(TOPICS.imageVariantsBuilt, event, { variants })];
  };
}
