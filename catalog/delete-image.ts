import { blobKeys } from '../lib/blob-keys.ts';
import type { StoredBytes } from '../lib/auth/stored-bytes.ts';
import type { ImageId, Tenant } from '../lib/ids.ts';
import type { BlobStore } from '../lib/ports/blob-store.ts';
import { updateDocument } from '../lib/update-document.ts';
import { unrecordedImage } from './accepted-upload.ts';
import type { OutcomeAnnouncer } from './announce-outcome.ts';
import type { ImagesCollection } from './images-collection.ts';
import { markDeleted } from './project-event.ts';

export interface DeleteImageDependencies {
  readonly images: ImagesCollection;
  readonly blobs: BlobStore;
  readonly storedBytes: StoredBytes;
  /** Drops what was kept of the image (cached responses), and waits for blobs of it still being stored. */
  readonly forget: (imageId: ImageId) => void | Promise<void>;
  /** Publishes image.deleted. */
  readonly announce: OutcomeAnnouncer;
}

/** Whether a live image is served from this one's blobs (deduplicated). */
async function servedToOthers(images: ImagesCollection, imageId: ImageId): Promise<boolean> {
  const sharing = await images.find({ where: { blobsOf: imageId }, limit: 1000 });
  return sharing.some((image) => image.status !== 'deleted');
}

/**
 * Deletes an image (recorded, or accepted and not recorded yet): its record
 * is marked first, so from then on nothing serves it and late events cannot
 * revive it; its tenant's stored bytes go down once;
 * image.deleted is published; then its original (or quarantined original) and
 * every blob derived from it go — unless other images are served from them, in
 * which case the orphans job takes them once none is. Repeating it is harmless.
 */
export async function deleteImage(
  { images, blobs, storedBytes, forget, announce }: DeleteImageDependencies,
  subject: { readonly tenant: Tenant; readonly imageId: ImageId },
): Promise<void> {
  const saved = { marked: false, bytes: 0 };
  const record = await updateDocument(images, subject.imageId, (current) => {
    saved.marked = current?.status !== 'deleted';
    saved.bytes = current?.original?.bytes ?? 0;
    // An upload accepted but not recorded yet is marked too: its events, when they come, cannot revive it.
    return saved.marked ? markDeleted(current ?? unrecordedImage(subject, new Date().toISOString())) : null;
  });
  await forget(subject.imageId);
  if (record !== null) await announce(record);
  if (saved.marked && saved.bytes > 0) await storedBytes.add(subject.tenant, -saved.bytes);
  if (await servedToOthers(images, subject.imageId)) return;
  for await (const blob of blobs.list(blobKeys.derivedPrefix(subject))) await blobs.delete(blob.key);
  await blobs.delete(blobKeys.original(subject));
  await blobs.delete(blobKeys.quarantine(subject));
}
