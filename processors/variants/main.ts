import { runMain } from '../../lib/service/host.ts';
import { variantsService } from './service.ts';

await runMain('variants', [variantsService]);
