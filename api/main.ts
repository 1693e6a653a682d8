/**
 * The `api` role: every public HTTP route on one port, no consumer and no
 * schedule. Run as many copies as the traffic needs, behind one address.
 */
import { runMain } from '../lib/service/host.ts';
import { API_SERVICES } from '../services.ts';

await runMain('api', API_SERVICES);
