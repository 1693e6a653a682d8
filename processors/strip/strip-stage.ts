import { blobKeys } from '../../lib/blob-keys.ts';
import { createEvent, type EventOf, type ImageEvent } from '../../lib/events/envelope.ts';
import { TOPICS } from '../../lib/events/topics.ts';
import { encodeAs, openImage, render } from '../../lib/imaging/codec.ts';
import { CONTENT_TYPES, masterFormat } from '../../lib/imaging/formats.ts';
import type { BlobStore } from '../../lib/ports/blob-store.ts';

export interface StripStageDependencies {
  readonly blobs: BlobStore;
}

/**
 * image.scanned (clean or unscanned) → image.stripped. Makes the master:
 * EXIF orientation applied, colours converted to sRGB (CMYK and wide-gamut
 * images keep their look), and no metadata at all — sharp writes none
 * (EXIF, XMP, IPTC, GPS, ICC, comments) unless asked to keep it.
 */
export function createStripStage({ blobs }: StripStageDependencies) {
  return async (event: EventOf<typeof TOPICS.imageScanned>): Promise<readonly ImageEvent[]> => {
    if (event.payload.verdict === 'infected') return [];
    const source = event.payload.original;
    const format = masterFormat(source.format);
    const image = openImage(await blobs.get(source.key), source.format).rotate().toColourspace('srgb');
    const master = await render(encodeAs(image, format, 'master'), format);
    const key = blobKeys.master(event, format);
    const stored = await blobs.put(key, master.data, { contentType: CONTENT_TYPES[format] });
    return [
      createEvent(TOPICS.imageStripped, event, {
        master: { key, format, width: master.width, height: master.height, bytes: stored.size, pages: master.pages },
      }),
    ];
  };
}
