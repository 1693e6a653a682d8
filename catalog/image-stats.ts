import { z } from 'zod';
import { imageIdSchema, tenantSchema } from '../lib/ids.ts';
import type { CatalogStore, DocumentCollection } from '../lib/ports/catalog-store.ts';

/**
 * Hits of one image, in total and by what was served ("webp", "variants/thumbnail.webp" …).
 * By rendition is a list, not an object keyed by rendition: FerretDB refuses field names with a ".".
 */
export const imageStatsSchema = z.object({
  id: imageIdSchema,
  tenant: tenantSchema,
  hits: z.number().int().nonnegative(),
  byRendition: z.array(z.object({ rendition: z.string(), hits: z.number().int().nonnegative() })),
  updatedAt: z.iso.datetime(),
});
export type ImageStats = z.infer<typeof imageStatsSchema>;
export type ImageStatsCollection = DocumentCollection<ImageStats>;

export const openImageStats = (store: CatalogStore): Promise<ImageStatsCollection> =>
  store.collection({ name: 'image_stats', schema: imageStatsSchema, indexes: [['tenant']] });
