import { runMain } from '../lib/service/host.ts';
import { schedulerService } from './service.ts';

await runMain('scheduler', [schedulerService]);
