import type { EventOf, ImageEvent } from '../lib/events/envelope.ts';
import type { TOPICS } from '../lib/events/topics.ts';
import { HttpError } from '../lib/http/errors.ts';
import { acceptUpload, type AcceptUploadDependencies } from './accept-upload.ts';
import { identifyImage } from './identify-image.ts';

/** Upstream systems may only hand over objects they put under this prefix. */
export const INCOMING_PREFIX = 'incoming/';

/**
 * ingest.requested → image.uploaded: an upstream system put an object into the
 * bucket itself and names it; ProgImage takes it in exactly as if uploaded
 * over HTTP (the id is the one the upstream chose). Its object is left alone.
 */
export function createIngestRequestedStage(dependencies: AcceptUploadDependencies) {
  return async (event: EventOf<typeof TOPICS.ingestRequested>): Promise<readonly ImageEvent[]> => {
    if (!event.payload.key.startsWith(INCOMING_PREFIX)) {
      throw new HttpError(400, 'key_outside_incoming', `ingest requests name objects under ${INCOMING_PREFIX}`);
    }
    const bytes = await dependencies.blobs.get(event.payload.key);
    const image = await identifyImage(bytes, dependencies.acceptedFormats);
    await acceptUpload(
      dependencies,
      { imageId: event.imageId, tenant: event.tenant, bytes, ...(event.payload.filename === undefined ? {} : { filename: event.payload.filename }) },
      image,
    );
    return [];
  };
}
