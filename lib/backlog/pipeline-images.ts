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

const NOT_FINAL: readonly ImageStatus[] = PIPELINE_STAGES.flatMap((stage) => WAITING_FOR[stage]);

/**
 * The images of `tenant` (of every tenant when null) that are not final yet,
 * by the stage they wait for. Only those are read: with the catalog's index
 * on the status (and the tenant), a count costs what is in flight, not what
 * was ever uploaded.
 */
export async function countBacklog(images: PipelineImages, tenant: Tenant | null): Promise<Backlog> {
  const byStatus = await images.countBy('status', { status: NOT_FINAL, ...(tenant === null ? {} : { tenant }) });
  return Object.fromEntries(
    PIPELINE_STAGES.map((stage) => [stage, WAITING_FOR[stage].reduce((sum, status) => sum + (byStatus.get(status) ?? 0), 0)]),
  ) as Record<PipelineStage, number>;
}

/**
 * Every tenant's backlog, and how many images the catalog holds (an estimate
 * from the store's bookkeeping, which is enough for a rate of arrivals).
 */
export async function countPipeline(images: PipelineImages): Promise<{ backlog: Backlog; total: number }> {
  const [backlog, total] = await Promise.all([countBacklog(images, null), images.estimatedCount()]);
  return { backlog, total };
}
