import { blobKeys } from '../lib/blob-keys.ts';
import type { ImageId, Tenant } from '../lib/ids.ts';
import type { BlobStore } from '../lib/ports/blob-store.ts';
import type { ImageRecord } from './image-record.ts';

/** An image as the catalog knows it before any event of it: accepted, nothing recorded yet (no outcome announced either). */
export function unrecordedImage(subject: { readonly tenant: Tenant; readonly imageId: ImageId }, at: string): ImageRecord {
  return { id: subject.imageId, tenant: subject.tenant, status: 'uploaded', createdAt: at, updatedAt: at, outcomesAnnounced: [] };
}

/**
 * An upload of `tenant` that was accepted (its original stored under its
 * tenant's key before the 202) but that the catalog has not recorded yet:
 * image.uploaded reaches it moments later. Null when there is no such
 * original, which is also the answer for another tenant's id: the key is the
 * asking tenant's.
 */
export async function acceptedUpload(blobs: BlobStore, tenant: Tenant, imageId: ImageId): Promise<ImageRecord | null> {
  const original = await blobs.stat(blobKeys.original({ tenant, imageId }));
  return original === null ? null : unrecordedImage({ tenant, imageId }, original.lastModified.toISOString());
}
