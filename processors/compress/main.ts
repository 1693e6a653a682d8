import { runMain } from '../../lib/service/host.ts';
import { compressService } from './service.ts';

await runMain('compress', [compressService]);
