import { runMain } from '../../lib/service/host.ts';
import { rescanService } from './service.ts';

await runMain('rescan', [rescanService]);
