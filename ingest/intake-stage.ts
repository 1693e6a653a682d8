import type { TenantCollections } from '../lib/auth/tenants.ts';
import type { EventOf, ImageEvent } from '../lib/events/envelope.ts';
import type { TOPICS } from '../lib/events/topics.ts';
import { ProgImageError, RemoteFailedError, RemoteTimeoutError } from '../lib/errors.ts';
import { BlobNotFoundError, type BlobStore } from '../lib/ports/blob-store.ts';
import { fetchImages, type RemoteImageLimits } from '../lib/remote/fetch-images.ts';
import { acceptUploads, type AcceptUploadsDependencies } from './accept-upload.ts';
import { markTakenIn } from '../lib/auth/image-id-claims.ts';
import { tooLarge, type UploadedFile } from './read-upload.ts';
import { defaultTtlOf, expiryAfter } from './time-to-live.ts';

export type IntakeDependencies = AcceptUploadsDependencies &
  RemoteImageLimits & {
    readonly tenants: TenantCollections['tenants'];
    /** How long an upload that names no ttl lives when its tenant sets no default (null: until deleted). */
    readonly defaultTtlSeconds: number | null;
  };

/** The object an upstream put in the bucket, under the upload size limit. */
async function incomingObject(blobs: BlobStore, key: string, maxBytes: number): Promise<Buffer> {
  const object = await blobs.stat(key);
  if (object === null) throw new BlobNotFoundError(key);
  if (object.size > maxBytes) throw tooLarge(maxBytes);
  const bytes = await blobs.get(key);
  if (bytes.length > maxBytes) throw tooLarge(maxBytes);
  return bytes;
}

/**
 * A fetch that timed out, reached no server, or was answered 429 or 5xx may
 * succeed later: it becomes retriable, so the runner tries again with backoff
 * before the image fails. (Over HTTP, the client is the one who retries.)
 */
function retriableIfPassing(error: unknown): unknown {
  if (!(error instanceof RemoteFailedError || error instanceof RemoteTimeoutError)) return error;
  const remoteStatus = Number(error.details.remoteStatus);
  const passing =
    error.code === 'remote_timeout' ||
    error.code === 'remote_unreachable' ||
    (error.code === 'remote_error' && (remoteStatus === 429 || remoteStatus >= 500));
  return passing ? new ProgImageError(error.message, { retriable: true, cause: error }) : error;
}

/** The image a request names: its object's bytes, or the image at its URL (through the same address checks as an HTTP upload's). */
async function requestedFile(
  dependencies: IntakeDependencies,
  { key, url, filename }: EventOf<typeof TOPICS.ingestAdmitted>['payload'],
): Promise<UploadedFile> {
  const named = filename === undefined ? {} : { filename };
  if (key !== undefined) return { bytes: await incomingObject(dependencies.blobs, key, dependencies.maxBytes()), ...named };
  const [fetched] = await fetchImages([url ?? ''], dependencies).catch((error: unknown) => {
    throw retriableIfPassing(error);
  });
  if (fetched === undefined) throw new Error('one URL gives one image');
  return { ...fetched, ...named };
}

/**
 * ingest.admitted → image.uploaded: an admitted request is taken in exactly
 * like an HTTP upload (acceptUploads: the same size limit, type checks,
 * quota and time to live), under the id it named. Only once its
 * image.uploaded is published is its incoming/ object removed. A repeat of a
 * request taken in before changes nothing. What cannot be taken in (no such
 * object, too large, not an accepted image, over quota, a URL refused) fails
 * for good: image.failed at stage ingest.
 */
export function createIntakeStage(dependencies: IntakeDependencies) {
  return async (event: EventOf<typeof TOPICS.ingestAdmitted>): Promise<readonly ImageEvent[]> => {
    const { imageId, payload } = event;
    const takenIn = ((await dependencies.claims.get(imageId))?.document.takenInAt ?? null) !== null;
    if (!takenIn) {
      const tenant = (await dependencies.tenants.get(event.tenant))?.document;
      if (tenant === undefined) throw new ProgImageError(`there is no tenant ${event.tenant}`, { retriable: false });
      const file = await requestedFile(dependencies, payload);
      const ttl = payload.ttl ?? defaultTtlOf(tenant, dependencies.defaultTtlSeconds);
      await acceptUploads(dependencies, tenant, [file], { imageIdOf: () => imageId, expiresAt: expiryAfter(ttl) });
      await markTakenIn(dependencies.claims, imageId);
    }
    if (payload.key !== undefined) await dependencies.blobs.delete(payload.key);
    return [];
  };
}
