import { openImageIdClaims } from '../lib/auth/image-id-claims.ts';
import type { Config } from '../lib/config/index.ts';
import type { Logger } from '../lib/logger.ts';
import type { BlobStore } from '../lib/ports/blob-store.ts';
import type { CatalogStore } from '../lib/ports/catalog-store.ts';
import type { EventBus } from '../lib/ports/event-bus.ts';
import { openCatalogImages } from './catalog-images.ts';
import { JobRunner } from './job-runner.ts';
import { openJobRuns, type JobRunsCollection } from './job-runs.ts';
import { createJobs } from './jobs/index.ts';
import { openSignatureState, type SignatureStateCollection } from './signature-state.ts';

export interface OpenedRunner {
  readonly runner: JobRunner;
  readonly runs: JobRunsCollection;
  readonly states: SignatureStateCollection;
}

/** The jobs and their runner on the catalog store: for the scheduler service and for run-job.ts alike. */
export async function openRunner(options: {
  config: Config;
  store: CatalogStore;
  bus: EventBus;
  blobs: BlobStore;
  log: Logger;
}): Promise<OpenedRunner> {
  const { config, store, bus, blobs, log } = options;
  const runs = await openJobRuns(store);
  const states = await openSignatureState(store);
  const images = await openCatalogImages(store);
  const claims = await openImageIdClaims(store);
  const jobs = createJobs({ config, images, claims, states, bus, blobs });
  const runner = new JobRunner({ runs, jobs, leaseMs: config.scheduler.leaseMs, log });
  return { runner, runs, states };
}
