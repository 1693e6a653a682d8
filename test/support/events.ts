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
