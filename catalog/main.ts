import { runMain } from '../lib/service/host.ts';
import { catalogService } from './service.ts';

await runMain('catalog', [catalogService]);
