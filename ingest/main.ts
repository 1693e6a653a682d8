import { runMain } from '../lib/service/host.ts';
import { ingestService } from './service.ts';

await runMain('ingest', [ingestService]);
