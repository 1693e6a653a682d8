import { runMain } from '../lib/service/host.ts';
import { catalogProjector } from './service.ts';

await runMain('catalog', [catalogProjector]);
