import { runMain } from '../../lib/service/host.ts';
import { scanService } from './service.ts';

await runMain('scan', [scanService]);
