import { z } from 'zod';
import { LIVE_IMAGE_STATUSES } from '@progimage/transform-language';
import { imageFormatSchema, renditionSchema, variantSchema } from '../lib/events/payloads.ts';
import { imageIdSchema, tenantSchema } from '../lib/ids.ts';
import type { CatalogStore, DocumentCollection } from '../lib/ports/catalog-store.ts';
import { everyDocument } from '../lib/every-document.ts';

/**
 * The fields of the catalog's image documents that the jobs read. The
 * scheduler only reads them: the catalog changes them when it projects the
 * events the jobs publish.
 */
const catalogImageSchema = z.object({
  id: imageIdSchema,
  tenant: tenantSchema,
  status: z.string(),
  createdAt: z.iso.datetime(),
  original: z.object({ key: z.string(), format: imageFormatSchema, sha256: z.string(), expiresAt: z.iso.datetime().optional() }).optional(),
  scan: z.object({ verdict: z.string(), signatureVersion: z.string().optional(), at: z.iso.datetime() }).optional(),
  master: renditionSchema.optional(),
  compression: z.object({ master: renditionSchema }).optional(),
  variants: z.object({ items: z.array(variantSchema) }).optional(),
  blobsOf: imageIdSchema.optional(),
});
export type CatalogImage = z.infer<typeof catalogImageSchema>;
export type CatalogImages = DocumentCollection<CatalogImage>;

export const openCatalogImages = (store: CatalogStore): Promise<CatalogImages> =>
  store.collection({ name: 'images', schema: catalogImageSchema });

/** Every image status but `deleted` (the public image model's list). */
export const LIVE_STATUSES = LIVE_IMAGE_STATUSES;

/** Whether the blobs stored under this image id are in use: its own live image, or live images deduplicated onto it. */
export async function blobsInUse(images: CatalogImages, imageId: string): Promise<boolean> {
  if (((await images.get(imageId))?.document.status ?? 'deleted') !== 'deleted') return true;
  const sharing = await images.find({ where: { blobsOf: imageId }, limit: 1000 });
  return sharing.some((image) => image.status !== 'deleted');
}

/** The images with these statuses, a page at a time (the store filters on equality only). */
export async function* imagesWithStatus(images: CatalogImages, statuses: readonly string[]): AsyncGenerator<CatalogImage> {
  for (const status of statuses) yield* everyDocument(images, { where: { status } });
}
