import type { TenantRecord } from '../lib/auth/tenants.ts';
import type { BacklogSampler } from '../lib/backlog/backlog-sampler.ts';
import { reportedWait, retryAfterSeconds } from '../lib/backlog/drain-rate.ts';
import type { PipelineImages } from '../lib/backlog/pipeline-images.ts';
import { inFlightExcess } from '../lib/backlog/tenant-backlog.ts';
import { HttpError } from '../lib/http/errors.ts';

/** From this expected wait on, an upload's answer says it (`expectedWaitSeconds`). */
export const LONG_WAIT_SECONDS = 60;

/** What letting uploads into the pipeline needs: the images to count a tenant's in flight, and the pipeline's last count. */
export interface PipelineAdmission {
  readonly images: PipelineImages;
  readonly sampler: BacklogSampler;
}

/**
 * Refuses `requested` more images of `tenant` past its limit of images in
 * flight: 429 too_many_in_flight, with a Retry-After from the drain rate (at
 * its share of it); 422 too_many_images for a request that alone is past it.
 */
export async function admitToPipeline({ images, sampler }: PipelineAdmission, tenant: TenantRecord, requested: number): Promise<void> {
  const excess = await inFlightExcess(images, tenant, requested);
  if (excess === null) return;
  const { limit, inFlight } = excess;
  if (requested > limit) {
    throw new HttpError(
      422,
      'too_many_images',
      `the request has ${requested} images, more than the ${limit} the tenant may have in the pipeline`,
      { limit, requested },
    );
  }
  const pipeline = sampler.current();
  const retryAfter = retryAfterSeconds({
    excess: inFlight + requested - limit,
    tenantInFlight: inFlight,
    inFlight: pipeline?.inFlight ?? inFlight,
    rate: pipeline?.drainPerSecond ?? null,
  });
  throw new HttpError(
    429,
    'too_many_in_flight',
    `the tenant has ${inFlight} images in the pipeline and may have ${limit}: try again once some are done`,
    { limit, inFlight, requested },
    { 'Retry-After': String(retryAfter) },
  );
}

/** The pipeline's expected wait in whole seconds when it is long (LONG_WAIT_SECONDS or more), else undefined. */
export function longExpectedWait(sampler: BacklogSampler): number | undefined {
  const wait = reportedWait(sampler.current()?.expectedWaitSeconds ?? null);
  return wait !== null && wait >= LONG_WAIT_SECONDS ? wait : undefined;
}
