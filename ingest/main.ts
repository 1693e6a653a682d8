import { runMain } from '../lib/service/host.ts';
import { ingestRequests } from './service.ts';

await runMain('ingest', [ingestRequests]);
