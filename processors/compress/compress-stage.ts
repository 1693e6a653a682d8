import { blobKeys } from '../../lib/blob-keys.ts';
import { createEvent, type EventOf, type ImageEvent } from '../../lib/events/envelope.ts';
import { TOPICS } from '../../lib/events/topics.ts';
import { encodeAs, openImage, render } from '../../lib/imaging/codec.ts';
import { CONTENT_TYPES } from '../../lib/imaging/formats.ts';
import type { ConcurrencyLimit } from '../../lib/concurrency.ts';
import type { BlobStore } from '../../lib/ports/blob-store.ts';

export interface CompressStageDependencies {
  readonly blobs: BlobStore;
  /** Bounds the process's pixel work. */
  readonly pixelWork: ConcurrencyLimit;
}

/**
 * image.stripped → image.compressed. Re-encodes the master in its own format
 * with the compact profile (mozjpeg for JPEG, maximum deflate effort for PNG, …)
 * and keeps the result only when it is smaller.
 */
export function createCompressStage({ blobs, pixelWork }: CompressStageDependencies) {
  return async (event: EventOf<typeof TOPICS.imageStripped>): Promise<readonly ImageEvent[]> => {
    const { master } = event.payload;
    const format = master.format;
    const bytes = await blobs.get(master.key);
    const compact = await pixelWork.run(() => render(encodeAs(openImage(bytes, format), format, 'compact'), format));
    if (compact.data.length >= master.bytes) {
      return [createEvent(TOPICS.imageCompressed, event, { master, bytesBefore: master.bytes, bytesAfter: master.bytes, kept: false })];
    }
    const key = blobKeys.compressed(event, format);
    const stored = await blobs.put(key, compact.data, { contentType: CONTENT_TYPES[format] });
    return [
      createEvent(TOPICS.imageCompressed, event, {
        master: { ...master, key, bytes: stored.size },
        bytesBefore: master.bytes,
        bytesAfter: stored.size,
        kept: true,
      }),
    ];
  };
}
