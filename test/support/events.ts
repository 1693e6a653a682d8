import { blobKeys } from '../../lib/blob-keys.ts';
import { createEvent, EVENT_SCHEMAS, type EventOf, type EventType, type PayloadOf } from '../../lib/events/envelope.ts';
import { TOPICS } from '../../lib/events/topics.ts';
import type { ImageId, Tenant } from '../../lib/ids.ts';

interface Subject {
  readonly imageId: ImageId;
  readonly tenant: Tenant;
}

/** An event as a stage publishes it, checked against its schema, so a fixture cannot be one that no stage would accept. */
const published = <T extends EventType>(type: T, subject: Subject, payload: PayloadOf<T>): EventOf<T> =>
  EVENT_SCHEMAS[type].parse(createEvent(type, subject, payload)) as EventOf<T>;

/**
 * An image.uploaded event for `subject`, as the ingest API publishes one: a
 * 600×450 JPEG of 2000 bytes stored under the subject's original key, with no
 * expiry. `payload` replaces any of those fields.
 */
export const uploadedEvent = (
  subject: Subject,
  payload: Partial<PayloadOf<typeof TOPICS.imageUploaded>> = {},
): EventOf<typeof TOPICS.imageUploaded> =>
  published(TOPICS.imageUploaded, subject, {
    originalKey: blobKeys.original(subject),
    format: 'jpeg',
    contentType: 'image/jpeg',
    bytes: 2000,
    sha256: 'a'.repeat(64),
    width: 600,
    height: 450,
    ...payload,
  });

/**
 * What the stages publish for an image that passes every one, after its
 * image.uploaded: scanned clean, stripped and compressed to a 600×450 JPEG
 * master of 1000 bytes (kept as it was), and one WebP thumbnail built.
 */
export function passedEvents(subject: Subject) {
  const master = { key: blobKeys.compressed(subject, 'jpeg'), format: 'jpeg', width: 600, height: 450, bytes: 1000, pages: 1 } as const;
  return {
    scanned: published(TOPICS.imageScanned, subject, {
      verdict: 'clean',
      signatures: [],
      original: { key: blobKeys.original(subject), format: 'jpeg' },
    }),
    stripped: published(TOPICS.imageStripped, subject, { master }),
    compressed: published(TOPICS.imageCompressed, subject, { master, bytesBefore: 1000, bytesAfter: 1000, kept: false }),
    built: published(TOPICS.imageVariantsBuilt, subject, {
      variants: [{ ...master, key: blobKeys.variant(subject, 'thumbnail', 'webp'), format: 'webp', name: 'thumbnail' }],
    }),
  };
}
