/**
 * `npm run start:distributed`: ProgImage as it runs in production, on the
 * local server stack — every service its own process, the processors in
 * several copies sharing their work through Kafka's consumer groups, and the
 * whole API on one port (PROGIMAGE_HTTP_PORT, 8080). Ctrl-C stops them all.
 */
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../../lib/config/index.ts';
import { onStopSignals } from '../../lib/service/stop-signals.ts';
import { localStackEnvironment } from './settings.ts';
import { ServerStartError, startStack } from './stack-runner.ts';
import { startDistributed } from './start-distributed.ts';
import { Supervisor } from './supervisor.ts';
import { MissingToolError } from './tools.ts';

const USAGE = `Usage: npm run start:distributed [-- --copies N]

  --copies N   copies of each pipeline processor (default 2)

Every PROGIMAGE_* setting applies to every process. Without server settings
(PROGIMAGE_KAFKA_BROKERS, PROGIMAGE_S3_ENDPOINT, PROGIMAGE_MONGODB_URL,
PROGIMAGE_CLAMD_HOST) the local stack is started and used (npm run stack:up).`;

const STOP_GRACE_MS = 20_000;

const SERVER_SETTINGS = ['PROGIMAGE_KAFKA_BROKERS', 'PROGIMAGE_S3_ENDPOINT', 'PROGIMAGE_MONGODB_URL', 'PROGIMAGE_CLAMD_HOST'];

function say(line: string): void {
  process.stdout.write(`${'distributed'.padEnd(12)}| ${line}\n`);
}

function parseCopies(argv: readonly string[]): number {
  const { values } = parseArgs({ args: [...argv], options: { copies: { type: 'string', default: '2' }, help: { type: 'boolean' } } });
  if (values.help === true) {
    console.log(USAGE);
    process.exit(0);
  }
  const copies = Number(values.copies);
  if (!Number.isInteger(copies) || copies < 1 || copies > 16)
    throw new ConfigError([`--copies: expected a whole number from 1 to 16, got "${values.copies}"`]);
  return copies;
}

/** The environment every process shares: the local stack's servers unless the caller names its own. */
async function sharedEnvironment(): Promise<NodeJS.ProcessEnv> {
  if (SERVER_SETTINGS.some((name) => process.env[name] !== undefined)) return process.env;
  await startStack(say);
  return { ...localStackEnvironment(), ...process.env };
}

const supervisor = new Supervisor(say);
let stopping: Promise<void> | null = null;

/** Stops every process once, whatever asked first, and exits. */
function stop(reason: string, exitCode: number): void {
  stopping ??= (async () => {
    say(`${reason}: stopping every process`);
    const unclean = await supervisor.stop(STOP_GRACE_MS);
    for (const end of unclean) say(`${end} instead of stopping cleanly`);
    say(unclean.length === 0 ? 'stopped' : `stopped; ${unclean.length} did not stop cleanly`);
    process.exit(unclean.length === 0 ? exitCode : 1);
  })();
}

async function main(): Promise<void> {
  const copies = parseCopies(process.argv.slice(2));
  // A second signal must not end this process before its children, leaving them running.
  onStopSignals((signal) => {
    stop(signal, 0);
  });
  supervisor.failed.catch((error: unknown) => {
    say(error instanceof Error ? error.message : String(error));
    stop('a process cannot start', 1);
  });
  const env = await sharedEnvironment();
  // Wrong settings stop here, once, rather than in every process.
  const { http } = loadConfig(env);
  const apiUrl = `http://${http.host === '0.0.0.0' ? '127.0.0.1' : http.host}:${http.port}`;
  const processes = await startDistributed(supervisor, env, copies, apiUrl);
  say(`ready: ${processes} processes; the API is at ${apiUrl} (Ctrl-C stops them all)`);
}

try {
  await main();
} catch (error) {
  const known = error instanceof ConfigError || error instanceof ServerStartError || error instanceof MissingToolError;
  say(known ? error.message : error instanceof Error ? (error.stack ?? error.message) : String(error));
  stop('could not start', 1);
}
