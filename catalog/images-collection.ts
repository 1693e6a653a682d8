import type { CatalogStore, DocumentCollection } from '../lib/ports/catalog-store.ts';
import { imageRecordSchema, type ImageRecord } from './image-record.ts';

export type ImagesCollection = DocumentCollection<ImageRecord>;

export const openImagesCollection = (store: CatalogStore): Promise<ImagesCollection> =>
  store.collection({ name: 'images', schema: imageRecordSchema, indexes: [['tenant', 'status'], ['blobsOf']] });
