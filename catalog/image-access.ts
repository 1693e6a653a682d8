import { HttpError } from '../lib/http/errors.ts';
import { imageIdSchema, type Tenant } from '../lib/ids.ts';
import type { BlobStore } from '../lib/ports/blob-store.ts';
import { acceptedUpload } from './accepted-upload.ts';
import type { ImageRecord } from './image-record.ts';
import type { ImagesCollection } from './images-collection.ts';

/** Where images are found: the catalog's records, and the blob store for uploads accepted but not recorded yet. */
export interface ImageLookup {
  readonly images: ImagesCollection;
  readonly blobs: BlobStore;
}

/**
 * An image whose pixels may be served: compressed (or further), so it passed
 * its scan. Its compressed master is what is served as it is; its master, the
 * source of everything made from it (lib/imaging/master.ts).
 */
export type Servable = ImageRecord & {
  readonly master: NonNullable<ImageRecord['master']>;
  readonly compression: NonNullable<ImageRecord['compression']>;
};

export const isServable = (image: ImageRecord): image is Servable =>
  (image.status === 'ready' || image.status === 'compressed') && image.master !== undefined && image.compression !== undefined;

export const imageNotFound = (): HttpError => new HttpError(404, 'not_found', 'no such image');

/**
 * The image of this tenant with this id; any other (unknown, malformed,
 * another tenant's, deleted) is a 404. Read-your-writes: an id its upload's
 * 202 returned is found from then on, as `uploaded` until the catalog records
 * it. Another tenant's id takes the same path as an unknown one (the same
 * look-ups, the same 404).
 */
export async function findImage({ images, blobs }: ImageLookup, tenant: Tenant, id: string): Promise<ImageRecord> {
  if (!imageIdSchema.safeParse(id).success) throw imageNotFound();
  const found = (await images.get(id))?.document;
  if (found?.tenant === tenant) {
    if (found.status === 'deleted') throw imageNotFound();
    return found;
  }
  const accepted = await acceptedUpload(blobs, tenant, id);
  if (accepted === null) throw imageNotFound();
  return accepted;
}

/** Refuses to serve pixels of an image that is infected, failed or not finished. */
export function assertServable(image: ImageRecord): asserts image is Servable {
  if (image.status === 'infected') {
    throw new HttpError(410, 'infected', 'the image was found infected and is never served', { status: image.status });
  }
  if (image.status === 'failed') {
    throw new HttpError(
      422,
      'processing_failed',
      `processing failed at ${image.failure?.stage ?? 'a stage'}: ${image.failure?.reason ?? ''}`,
      {
        status: image.status,
        stage: image.failure?.stage,
      },
    );
  }
  if (!isServable(image)) {
    throw new HttpError(
      409,
      'not_ready',
      `the image is not ready yet (status: ${image.status})`,
      { status: image.status },
      { 'Retry-After': '1' },
    );
  }
}
