import { createHash } from 'node:crypto';
import { blobKeys } from '../lib/blob-keys.ts';
import { createEvent, encodeEvent, type EventOf } from '../lib/events/envelope.ts';
import type { ImageFormat } from '../lib/events/payloads.ts';
import { TOPICS } from '../lib/events/topics.ts';
import { DomainError } from '../lib/errors.ts';
import { HttpError } from '../lib/http/errors.ts';
import type { ImageId, Tenant } from '../lib/ids.ts';
import type { BlobStore } from '../lib/ports/blob-store.ts';
import type { EventBus } from '../lib/ports/event-bus.ts';
import { identifyImage } from '../lib/imaging/identify-image.ts';
import type { Claims } from '../lib/imaging/claimed-format.ts';
import { assertWithinQuota, type UsageCollection } from '../lib/auth/stored-bytes.ts';
import type { TenantRecord } from '../lib/auth/tenants.ts';
import { claimImageId, type ImageIdClaims } from '../lib/auth/image-id-claims.ts';
import type { UploadedFile } from './read-upload.ts';

export interface AcceptUploadDependencies {
  readonly blobs: BlobStore;
  readonly bus: EventBus;
  readonly acceptedFormats: readonly ImageFormat[];
  /** Which tenant each image id belongs to: an upload claims its id before anything is stored. */
  readonly claims: ImageIdClaims;
}

/** What accepting the files of one request needs besides: each tenant's stored bytes, checked against its quota. */
export type AcceptUploadsDependencies = AcceptUploadDependencies & { readonly usage: UsageCollection };

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
        if (error instanceof DomainError && uploads.length > 1) {
          throw error.within(`file ${index + 1}`, {
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
 * Takes one upload in: its id is claimed for its tenant, the original goes to
 * the blob store under a server-made key, then image.uploaded is published
 * (durably); only then is it accepted. A crash between the two leaves an
 * orphan blob, never an accepted upload that is lost. A repeated upload (same
 * id) with the same bytes is accepted again; with other bytes it is refused,
 * and so is an id another tenant holds.
 */
export async function acceptUpload(
  { blobs, bus, claims }: Omit<AcceptUploadDependencies, 'acceptedFormats'>,
  upload: Upload,
  image: Awaited<ReturnType<typeof identifyImage>>,
): Promise<EventOf<typeof TOPICS.imageUploaded>> {
  if ((await claimImageId(claims, upload, null)).tenant !== upload.tenant) {
    throw new HttpError(409, 'image_id_taken', `image id ${upload.imageId} belongs to another tenant`);
  }
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

/**
 * Takes the files of one request in for `tenant`, the same whether they came
 * over HTTP or in an upstream's ingest request: within the tenant's quota,
 * every file identified before any is stored (a bad one stores nothing),
 * then each accepted under the id `imageIdOf` gives it.
 */
export async function acceptUploads(
  dependencies: AcceptUploadsDependencies,
  tenant: TenantRecord,
  files: readonly UploadedFile[],
  { imageIdOf, expiresAt }: { readonly imageIdOf: (index: number) => ImageId; readonly expiresAt: string | undefined },
): Promise<EventOf<typeof TOPICS.imageUploaded>[]> {
  await assertWithinQuota(
    dependencies.usage,
    tenant,
    files.reduce((sum, file) => sum + file.bytes.length, 0),
  );
  const uploads: Upload[] = files.map((file, index) => ({
    imageId: imageIdOf(index),
    tenant: tenant.id,
    ...file,
    ...(expiresAt === undefined ? {} : { expiresAt }),
  }));
  const images = await identifyAll(uploads, dependencies.acceptedFormats);
  const accepted: EventOf<typeof TOPICS.imageUploaded>[] = [];
  for (const [index, upload] of uploads.entries()) {
    const image = images[index];
    if (image === undefined) throw new Error('every upload was identified');
    accepted.push(await acceptUpload(dependencies, upload, image));
  }
  return accepted;
}
