import { z } from 'zod';
import type { TenantRecord } from '../auth/tenants.ts';
import { countBacklog, imagesInFlight, type PipelineImages, type PipelineStage } from './pipeline-images.ts';

/** A tenant's images in the pipeline, by the stage they wait for, and its limit of them (null: none). */
const count = z.number().int().nonnegative();
export const tenantBacklogSchema = z
  .object({
    backlog: z.object({ scan: count, strip: count, compress: count, variants: count } satisfies Record<PipelineStage, z.ZodType>),
    inFlight: count,
    imagesInFlightLimit: z.number().int().positive().nullable().meta({ description: 'null: no limit' }),
  })
  .meta({ id: 'TenantBacklog' });
export type TenantBacklog = z.infer<typeof tenantBacklogSchema>;

export async function tenantBacklog(images: PipelineImages, tenant: TenantRecord): Promise<TenantBacklog> {
  const backlog = await countBacklog(images, tenant.id);
  return { backlog, inFlight: imagesInFlight(backlog), imagesInFlightLimit: tenant.imagesInFlightLimit };
}

/** A tenant's limit of images in flight, its images in flight, and how many more a request would add. */
export interface InFlightExcess {
  readonly limit: number;
  readonly inFlight: number;
  readonly requested: number;
}

/**
 * Null when `tenant` may put `requested` more images in the pipeline, else
 * what passing its limit would take. The count follows the catalog, so an
 * upload accepted a moment ago and not recorded yet is not in it: a burst of
 * concurrent uploads can pass the limit by those.
 */
export async function inFlightExcess(images: PipelineImages, tenant: TenantRecord, requested: number): Promise<InFlightExcess | null> {
  const limit = tenant.imagesInFlightLimit;
  if (limit === null) return null;
  const { inFlight } = await tenantBacklog(images, tenant);
  return inFlight + requested <= limit ? null : { limit, inFlight, requested };
}
