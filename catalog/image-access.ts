import { HttpError } from '../lib/http/errors.ts';
import { imageIdSchema, type Tenant } from '../lib/ids.ts';
import type { ImageRecord } from './image-record.ts';
import type { ImagesCollection } from './images-collection.ts';

/** An image whose pixels may be served: compressed (or further), so it passed its scan. */
export type Servable = ImageRecord & { readonly compression: NonNullable<ImageRecord['compression']> };

const isServable = (image: ImageRecord): image is Servable =>
  (image.status === 'ready' || image.status === 'compressed') && image.compression !== undefined;

const notFound = (): HttpError => new HttpError(404, 'not_found', 'no such image');

/** The image of this tenant with this id; any other (unknown, malformed, another tenant's, deleted) is a 404. */
export async function findImage(images: ImagesCollection, tenant: Tenant, id: string): Promise<ImageRecord> {
  if (!imageIdSchema.safeParse(id).success) throw notFound();
  const found = await images.get(id);
  if (found?.document.tenant !== tenant || found.document.status === 'deleted') throw notFound();
  return found.document;
}

/** Refuses to serve pixels of an image that is infected, failed or not finished. */
export function assertServable(image: ImageRecord): asserts image is Servable {
  if (image.status === 'infected') {
    throw new HttpError(410, 'infected', 'the image was found infected and is never served', { status: image.status });
  }
  if (image.status === 'failed') {
    throw new HttpError(422, 'processing_failed', `processing failed at ${image.failure?.stage ?? 'a stage'}: ${image.failure?.reason ?? ''}`, {
      status: image.status,
      stage: image.failure?.stage,
    });
  }
  if (!isServable(image)) {
    throw new HttpError(409, 'not_ready', `the image is not ready yet (status: ${image.status})`, { status: image.status }, { 'Retry-After': '1' });
  }
}

