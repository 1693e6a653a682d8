/**
 * Runs one job now, under the same lease as the scheduler's runs, and prints
 * the recorded run as JSON: `node --import tsx scheduler/run-job.ts rescan`.
 * Exits 0 when the run succeeded, 1 when it failed, 75 when it could not
 * start (already running elsewhere), 64 for an unknown job.
 */
import { createBlobStore, createCatalogStore, createEventBus } from '../lib/adapters/index.ts';
import { loadConfig } from '../lib/config/index.ts';
import { createLogger } from '../lib/logger.ts';
import { openRunner } from './open-runner.ts';

const name = process.argv[2] ?? '';
const config = loadConfig();
const log = createLogger('run-job', config.logLevel);
const bus = await createEventBus(config, log);
const store = await createCatalogStore(config);
const blobs = await createBlobStore(config);
let exitCode: number;
try {
  const { runner } = await openRunner({ config, store, bus, blobs, log });
  if (runner.job(name) === undefined) {
    console.error(`usage: run-job.ts <job>; jobs: ${runner.jobs.map((job) => job.name).join(', ')}`);
    exitCode = 64; // EX_USAGE
  } else {
    const result = await runner.start(name, 'manual');
    if (result.started) {
      const run = await result.finished;
      console.log(JSON.stringify(run, null, 2));
      exitCode = run.outcome === 'succeeded' ? 0 : 1;
    } else {
      console.error(`${name} did not start: ${result.reason}`);
      exitCode = 75; // EX_TEMPFAIL
    }
  }
} finally {
  await store.close();
  await bus.close();
}
process.exit(exitCode);
