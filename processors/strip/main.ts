import { runMain } from '../../lib/service/host.ts';
import { stripService } from './service.ts';

await runMain('strip', [stripService]);
