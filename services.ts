import { adminApi } from './admin/service.ts';
import { catalogApi, catalogProjector } from './catalog/service.ts';
import { ingestApi, ingestRequests } from './ingest/service.ts';
import type { ServiceFactory } from './lib/service/host.ts';
import { compressService } from './processors/compress/service.ts';
import { rescanService } from './processors/rescan/service.ts';
import { scanService } from './processors/scan/service.ts';
import { stripService } from './processors/strip/service.ts';
import { transformService } from './processors/transform/service.ts';
import { variantsService } from './processors/variants/service.ts';
import { jobsAdminApi, schedulerService } from './scheduler/service.ts';
import { webhookDelivery, webhooksApi } from './webhooks/service.ts';

/**
 * The public HTTP API, every route of it: the `api` role (api/main.ts). It
 * keeps no state of its own, so any number of copies serve one base URL.
 */
export const API_SERVICES: readonly ServiceFactory[] = [catalogApi, ingestApi, webhooksApi, jobsAdminApi, adminApi];

/** The workers: consumers of the event stream and the scheduler. Each main.ts runs one of them, with no public routes. */
export const WORKER_SERVICES: readonly ServiceFactory[] = [
  catalogProjector,
  ingestRequests,
  scanService,
  stripService,
  compressService,
  variantsService,
  transformService,
  rescanService,
  schedulerService,
  webhookDelivery,
];

/** Every ProgImage service, for running them all in one process. */
export const ALL_SERVICES: readonly ServiceFactory[] = [...API_SERVICES, ...WORKER_SERVICES];
