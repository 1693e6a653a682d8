import { createHash } from 'node:crypto';
import { blobKeys } from '../lib/blob-keys.ts';
import { createEvent, encodeEvent, type EventOf } from '../lib/events/envelope.ts';
import type { ImageFormat } from '../lib/events/payloads.ts';
import { TOPICS } from '../lib/events/topics.ts';
import { HttpError } from '../lib/http/errors.ts';
import type { ImageId, Tenant } from '../lib/ids.ts';
import type { BlobStore } from '../lib/ports/blob-store.ts';
import type { EventBus } from '../lib/ports/event-bus.ts';
import { identifyImage } from '../lib/imaging/identify-image.ts';
import type { Claims } from '../lib/imaging/claimed-format.ts';

export interface AcceptUploadDependencies {
  readonly blobs: BlobStore;
  readonly bus: EventBus;
  readonly acceptedFormats: readonly ImageFormat[];
}

export interface Upload {
  readonly imageId: ImageId;
  readonly tenant: Tenant;
  readonly bytes: Buffer;
  readonly filename?: string;
  /** What the client said the file is, checked against the content (never used in its place). */
  readonly claims?: Claims;
  readonly expiresAt?: string;
}

/** Checks every file of a request before any is stored, so a bad one stores nothing. */
export async function identifyAll(uploads: readonly Upload[], acceptedFormats: readonly ImageFormat[]) {
  return Promise.all(
    uploads.map(async (upload, index) => {
      try {
        return await identifyImage(upload.bytes, acceptedFormats, upload.claims);
      } catch (error) {
        if (error instanceof HttpError && uploads.length > 1) {
          throw new HttpError(error.status, error.code, `file ${index + 1}: ${error.message}`, {
            ...error.details,
            file: index + 1,
            ...(upload.filename === undefined ? {} : { filename: upload.filename }),
          });
        }
        throw error;
      }
    }),
  );
}

/**
 * Takes one upload in: the original goes to the blob store under a
 * server-made key, then image.uploaded is published (durably); only then is
 * it accepted. A crash between the two leaves an orphan blob, never an
 * accepted upload that is lost. A repeated upload (same id) with the same
 * bytes is accepted again; with other bytes it is refused.
 */
export async function acceptUpload(
  { blobs, bus }: Omit<AcceptUploadDependencies, 'acceptedFormats'>,
  upload: Upload,
  image: Awaited<ReturnType<typeof identifyImage>>,
): Promise<EventOf<typeof TOPICS.imageUploaded>> {
  const sha256 = createHash('sha256').update(upload.bytes).digest('hex');
  const originalKey = blobKeys.original(upload);
  const existing = await blobs.stat(originalKey);
  if (existing !== null && existing.sha256 !== sha256) {
    throw new HttpError(422, 'idempotency_key_reused', 'this Idempotency-Key was used before for a different image');
  }
  if (existing === null) await blobs.put(originalKey, upload.bytes, { contentType: image.contentType });
  const event = createEvent(TOPICS.imageUploaded, upload, {
    originalKey,
    format: image.format,
    contentType: image.contentType,
    bytes: upload.bytes.length,
    sha256,
    width: image.width,
    height: image.height,
    ...(upload.filename === undefined ? {} : { filename: upload.filename }),
    ...(upload.expiresAt === undefined ? {} : { expiresAt: upload.expiresAt }),
  });
  await bus.publish(TOPICS.imageUploaded, [{ key: event.imageId, value: encodeEvent(event) }]);
  return event;
}
