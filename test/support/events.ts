import { blobKeys } from '../../lib/blob-keys.ts';
import { createEvent, EVENT_SCHEMAS, type EventOf, type PayloadOf } from '../../lib/events/envelope.ts';
import { TOPICS } from '../../lib/events/topics.ts';
import type { ImageId, Tenant } from '../../lib/ids.ts';

type Uploaded = typeof TOPICS.imageUploaded;

/**
 * An image.uploaded event for `subject`, as the ingest API publishes one: a
 * 600×450 JPEG of 2000 bytes stored under the subject's original key, with no
 * expiry. `payload` replaces any of those fields. The event is checked against
 * its schema, so a fixture cannot be one that no stage would accept.
 */
export function uploadedEvent(
  subject: { readonly imageId: ImageId; readonly tenant: Tenant },
  payload: Partial<PayloadOf<Uploaded>> = {},
): EventOf<Uploaded> {
  const event = createEvent(TOPICS.imageUploaded, subject, {
    originalKey: blobKeys.original(subject),
    format: 'jpeg',
    contentType: 'image/jpeg',
    bytes: 2000,
    sha256: 'a'.repeat(64),
    width: 600,
    height: 450,
    ...payload,
  });
  return EVENT_SCHEMAS[TOPICS.imageUploaded].parse(event);
}

/** The master of the image `passedEvents` describe: a 600×450 JPEG of 1000 bytes under the subject's derived keys. */
export const masterOf = (subject: { readonly imageId: ImageId; readonly tenant: Tenant }) =>
  ({
    key: `derived/${subject.tenant}/${subject.imageId}/compressed.jpg`,
    format: 'jpeg',
    width: 600,
    height: 450,
    bytes: 1000,
    pages: 1,
  }) as const;

/**
 * What the stages publish for an image that passes every one, after its
 * image.uploaded: scanned clean, stripped and compressed to `masterOf(subject)`
 * (kept as it was), and one WebP thumbnail built. Each event is checked
 * against its schema.
 */
export function passedEvents(subject: { readonly imageId: ImageId; readonly tenant: Tenant }) {
  const master = masterOf(subject);
  return {
    scanned: EVENT_SCHEMAS[TOPICS.imageScanned].parse(
      createEvent(TOPICS.imageScanned, subject, {
        verdict: 'clean',
        signatures: [],
        original: { key: blobKeys.original(subject), format: 'jpeg' },
      }),
    ),
    stripped: EVENT_SCHEMAS[TOPICS.imageStripped].parse(createEvent(TOPICS.imageStripped, subject, { master })),
    compressed: EVENT_SCHEMAS[TOPICS.imageCompressed].parse(
      createEvent(TOPICS.imageCompressed, subject, { master, bytesBefore: 1000, bytesAfter: 1000, kept: false }),
    ),
    built: EVENT_SCHEMAS[TOPICS.imageVariantsBuilt].parse(
      createEvent(TOPICS.imageVariantsBuilt, subject, {
        variants: [
          { ...master, key: `derived/${subject.tenant}/${subject.imageId}/variants/thumbnail.webp`, format: 'webp', name: 'thumbnail' },
        ],
      }),
    ),
  };
}
