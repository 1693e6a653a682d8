import { z } from 'zod';
import type { ImageStatus } from '@progimage/transform-language';
import { imageIdSchema, tenantSchema, type Tenant } from '../ids.ts';
import type { CatalogStore, DocumentCollection } from '../ports/catalog-store.ts';

/** The pipeline's stages, in the order an image goes through them. */
export const PIPELINE_STAGES = ['scan', 'strip', 'compress', 'variants'] as const;
export type PipelineStage = (typeof PIPELINE_STAGES)[number];

/** The statuses of an image that is not final yet, by the stage it waits for. */
const WAITING_FOR: Readonly<Record<PipelineStage, readonly ImageStatus[]>> = {
  scan: ['uploaded'],
  strip: ['unscanned', 'clean'],
  compress: ['stripped'],
  variants: ['compressed'],
};

/** Images not final yet, by the stage they wait for. */
export type Backlog = Readonly<Record<PipelineStage, number>>;

export const imagesInFlight = (backlog: Backlog): number => PIPELINE_STAGES.reduce((sum, stage) => sum + backlog[stage], 0);

/** The fields of the catalog's image documents that the backlog is counted on; nothing else reads them here. */
const pipelineImageSchema = z.object({ id: imageIdSchema, tenant: tenantSchema, status: z.string() });
export type PipelineImages = DocumentCollection<z.infer<typeof pipelineImageSchema>>;

/** The catalog's images, to count: by status over every tenant, and by tenant and status. */
export const openPipelineImages = (store: CatalogStore): Promise<PipelineImages> =>
  store.collection({ name: 'images', schema: pipelineImageSchema, indexes: [['status'], ['tenant', 'status']] });

/** The images of `tenant` (of every tenant when null) that are not final yet, by the stage they wait for. */
export async function countBacklog(images: PipelineImages, tenant: Tenant | null): Promise<Backlog> {
  const counted = await Promise.all(
    PIPELINE_STAGES.map(async (stage) => {
      const counts = await Promise.all(WAITING_FOR[stage].map((status) => images.count(tenant === null ? { status } : { tenant, status })));
      return [stage, counts.reduce((sum, count) => sum + count, 0)] as const;
    }),
  );
  return Object.fromEntries(counted) as Record<PipelineStage, number>;
}
