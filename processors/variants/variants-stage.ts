import { blobKeys } from '../../lib/blob-keys.ts';
import { createEvent, type EventOf, type ImageEvent } from '../../lib/events/envelope.ts';
import type { Variant } from '../../lib/events/payloads.ts';
import { TOPICS } from '../../lib/events/topics.ts';
import { CONTENT_TYPES } from '../../lib/imaging/formats.ts';
import type { BlobStore } from '../../lib/ports/blob-store.ts';
import type { TransformSettings } from '../../lib/config/index.ts';
import { makeVariants } from '../../lib/transform/variants.ts';

export interface VariantsStageDependencies {
  readonly blobs: BlobStore;
  /** The presets and deadline in force when an image's variants are made. */
  readonly transforms: () => TransformSettings;
}

/** image.compressed → image.variants-built: every preset in every variant format, from the master. */
export function createVariantsStage({ blobs, transforms }: VariantsStageDependencies) {
  return async (event: EventOf<typeof TOPICS.imageCompressed>): Promise<readonly ImageEvent[]> => {
    const { master } = event.payload;
    const source = { bytes: await blobs.get(master.key), format: master.format, pages: master.pages, width: master.width, height: master.height, upright: true };
    const variants: Variant[] = [];
    const { presets, timeoutMs } = transforms();
    for await (const { name, image } of makeVariants(source, presets, timeoutMs)) {
      const key = blobKeys.variant(event, name, image.format);
      const stored = await blobs.put(key, image.data, { contentType: CONTENT_TYPES[image.format] });
      variants.push({ name, key, format: image.format, width: image.width, height: image.height, bytes: stored.size, pages: image.pages });
    }
    return [createEvent(TOPICS.imageVariantsBuilt, event, { variants })];
  };
}
