/**
 * `npm start`: every service in one process, on one port. With no
 * configuration the adapters are the embedded ones (data under ./data);
 * with Kafka, S3 and MongoDB settings it is the distributed system in one
 * process. In production, run each folder's main.ts as its own process.
 */
import { runMain } from './lib/service/host.ts';
import { ALL_SERVICES } from './services.ts';

await runMain('progimage', ALL_SERVICES);
