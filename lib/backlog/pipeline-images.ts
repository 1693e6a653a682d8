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

/**
 * The images of `tenant` (of every tenant when null): those not final yet, by
 * the stage they wait for, and all of them. One count by status, not one per
 * status and one more for the total: on FerretDB each count reads every image.
 */
export async function countPipeline(images: PipelineImages, tenant: Tenant | null): Promise<{ backlog: Backlog; total: number }> {
  const byStatus = await images.countBy('status', tenant === null ? undefined : { tenant });
  const backlog = Object.fromEntries(
    PIPELINE_STAGES.map((stage) => [stage, WAITING_FOR[stage].reduce((sum, status) => sum + (byStatus.get(status) ?? 0), 0)]),
  ) as Record<PipelineStage, number>;
  let total = 0;
  for (const count of byStatus.values()) total += count;
  return { backlog, total };
}

/** The images of `tenant` (of every tenant when null) that are not final yet, by the stage they wait for. */
export async function countBacklog(images: PipelineImages, tenant: Tenant | null): Promise<Backlog> {
  return (await countPipeline(images, tenant)).backlog;
}
