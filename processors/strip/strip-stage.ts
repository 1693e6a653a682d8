import { blobKeys } from '../../lib/blob-keys.ts';
import { createEvent, type EventOf, type ImageEvent } from '../../lib/events/envelope.ts';
import { TOPICS } from '../../lib/events/topics.ts';
import { CONTENT_TYPES } from '../../lib/imaging/formats.ts';
import { makeMaster } from '../../lib/imaging/master.ts';
import type { ConcurrencyLimit } from '../../lib/concurrency.ts';
import type { BlobStore } from '../../lib/ports/blob-store.ts';

export interface StripStageDependencies {
  readonly blobs: BlobStore;
  /** Bounds the process's pixel work. */
  readonly pixelWork: ConcurrencyLimit;
}

/**
 * image.scanned (clean or unscanned) → image.stripped. Makes the master
 * (lib/imaging/master.ts): upright, sRGB, no metadata at all, quick to decode.
 */
export function createStripStage({ blobs, pixelWork }: StripStageDependencies) {
  return async (event: EventOf<typeof TOPICS.imageScanned>): Promise<readonly ImageEvent[]> => {
    if (event.payload.verdict === 'infected') return [];
    const source = event.payload.original;
    const original = await blobs.get(source.key);
    const master = await pixelWork.run(() => makeMaster(original, source.format));
    const { format } = master;
    const key = blobKeys.master(event, format);
    const stored = await blobs.put(key, master.data, { contentType: CONTENT_TYPES[format] });
    return [
      createEvent(TOPICS.imageStripped, event, {
        master: { key, format, width: master.width, height: master.height, bytes: stored.size, pages: master.pages },
      }),
    ];
  };
}
