import type { CatalogStore, DocumentCollection } from '../lib/ports/catalog-store.ts';
import { imageRecordSchema, type ImageRecord } from './image-record.ts';

export type ImagesCollection = DocumentCollection<ImageRecord>;

export const openImagesCollection = (store: CatalogStore): Promise<ImagesCollection> =>
  store.collection({ name: 'images', schema: imageRecordSchema, indexes: [['tenant', 'status']] });

const MAX_CONFLICTS = 20;

/**
 * Read, change, compare-and-set: retried when another writer (another catalog
 * replica, a DELETE) saved first. `change` returns null for "nothing to do".
 */
export async function updateImage(
  images: ImagesCollection,
  id: string,
  change: (current: ImageRecord | null) => ImageRecord | null,
): Promise<ImageRecord | null> {
  for (let attempt = 0; attempt < MAX_CONFLICTS; attempt += 1) {
    const current = await images.get(id);
    const next = change(current?.document ?? null);
    if (next === null) return current?.document ?? null;
    if ((await images.save(next, current?.version ?? null)) !== null) return next;
  }
  throw new Error(`image ${id} kept changing under ${MAX_CONFLICTS} attempts to update it`);
}
