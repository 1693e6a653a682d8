import { blobKeys } from '../../lib/blob-keys.ts';
import { createEvent, type EventOf, type ImageEvent } from '../../lib/events/envelope.ts';
import type { Variant } from '../../lib/events/payloads.ts';
import { TOPICS } from '../../lib/events/topics.ts';
import { encodeAs, openImage, render } from '../../lib/imaging/codec.ts';
import { CONTENT_TYPES } from '../../lib/imaging/formats.ts';
import { VARIANT_PRESETS, variantFormats } from '../../lib/imaging/presets.ts';
import type { BlobStore } from '../../lib/ports/blob-store.ts';

export interface VariantsStageDependencies {
  readonly blobs: BlobStore;
}

/** image.compressed → image.variants-built: every preset in every variant format, from the master. */
export function createVariantsStage({ blobs }: VariantsStageDependencies) {
  return async (event: EventOf<typeof TOPICS.imageCompressed>): Promise<readonly ImageEvent[]> => {
    const { master } = event.payload;
    const source = openImage(await blobs.get(master.key), master.format);
    const variants: Variant[] = [];
    for (const preset of VARIANT_PRESETS) {
      const resized = source
        .clone()
        .resize({ width: preset.maxWidth, height: preset.maxHeight, fit: 'inside', withoutEnlargement: true });
      for (const format of variantFormats(master.format, master.pages > 1)) {
        const encoded = await render(encodeAs(resized.clone(), format, 'delivery'), format);
        const key = blobKeys.variant(event, preset.name, format);
        const stored = await blobs.put(key, encoded.data, { contentType: CONTENT_TYPES[format] });
        variants.push({ name: preset.name, key, format, width: encoded.width, height: encoded.height, bytes: stored.size, pages: encoded.pages });
      }
    }
    return [createEvent(TOPICS.imageVariantsBuilt, event, { variants })];
  };
}
