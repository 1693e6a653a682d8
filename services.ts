import { catalogService } from './catalog/service.ts';
import { ingestService } from './ingest/service.ts';
import type { ServiceFactory } from './lib/service/host.ts';
import { compressService } from './processors/compress/service.ts';
import { rescanService } from './processors/rescan/service.ts';
import { scanService } from './processors/scan/service.ts';
import { stripService } from './processors/strip/service.ts';
import { transformService } from './processors/transform/service.ts';
import { variantsService } from './processors/variants/service.ts';
import { schedulerService } from './scheduler/service.ts';

/** Every ProgImage service, for running them all in one process. */
export const ALL_SERVICES: readonly ServiceFactory[] = [
  catalogService,
  ingestService,
  scanService,
  stripService,
  compressService,
  variantsService,
  transformService,
  rescanService,
  schedulerService,
];
