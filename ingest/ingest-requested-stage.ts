import type { EventOf, ImageEvent } from '../lib/events/envelope.ts';
import type { TOPICS } from '../lib/events/topics.ts';
import { HttpError } from '../lib/http/errors.ts';
import { BlobNotFoundError } from '../lib/ports/blob-store.ts';
import { acceptUpload, type AcceptUploadDependencies } from './accept-upload.ts';
import { identifyImage } from '../lib/imaging/identify-image.ts';
import { tooLarge } from './read-upload.ts';

/** Upstream systems may only hand over objects they put under this prefix. */
export const INCOMING_PREFIX = 'incoming/';

/**
 * ingest.requested → image.uploaded: an upstream system put an object into the
 * bucket itself and names it; ProgImage takes it in exactly as if uploaded
 * over HTTP (the id is the one the upstream chose), with the same size limit
 * and type checks. Its object is left alone. What cannot be taken in (no such
 * object, too large, not an accepted image) fails for good: image.failed at
 * stage ingest, so the catalog shows why.
 */
export function createIngestRequestedStage(dependencies: AcceptUploadDependencies & { readonly maxBytes: () => number }) {
  return async (event: EventOf<typeof TOPICS.ingestRequested>): Promise<readonly ImageEvent[]> => {
    if (!event.payload.key.startsWith(INCOMING_PREFIX)) {
      throw new HttpError(400, 'key_outside_incoming', `ingest requests name objects under ${INCOMING_PREFIX}`);
    }
    const object = await dependencies.blobs.stat(event.payload.key);
    if (object === null) throw new BlobNotFoundError(event.payload.key);
    const maxBytes = dependencies.maxBytes();
    if (object.size > maxBytes) throw tooLarge(maxBytes);
    const bytes = await dependencies.blobs.get(event.payload.key);
    if (bytes.length > maxBytes) throw tooLarge(maxBytes);
    const image = await identifyImage(bytes, dependencies.acceptedFormats);
    await acceptUpload(
      dependencies,
      { imageId: event.imageId, tenant: event.tenant, bytes, ...(event.payload.filename === undefined ? {} : { filename: event.payload.filename }) },
      image,
    );
    return [];
  };
}
