import { runMain } from '../../lib/service/host.ts';
import { transformService } from './service.ts';

await runMain('transform', [transformService]);
