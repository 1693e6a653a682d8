import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isolatedDeployment } from '../infra/local/deployment.ts';
import { localStackEnvironment } from '../infra/local/settings.ts';
import { startStack } from '../infra/local/stack-runner.ts';
import { loadConfig } from '../lib/config/index.ts';
import { UsageError } from './command-line.ts';

/**
 * Where a benchmark's services run (bench/pipeline-throughput.ts,
 * bench/upload-load.ts): `embedded`, npm start's embedded adapters under a
 * data directory of their own; `servers`, Kafka, MinIO, FerretDB and clamd.
 */
export type SetupName = 'embedded' | 'servers';

/** The settings the services start with, and what to clean up after. */
export interface PipelineSetup {
  readonly name: SetupName;
  /** PROGIMAGE_* settings of the services. */
  readonly env: Readonly<Record<string, string>>;
  /** Delete the benchmark's images through the API afterwards (a shared, long-lived stack). */
  readonly deleteImagesAfter: boolean;
  /** Removes what the setup made for the run (data directory, Kafka namespace, database), after the services stop. */
  remove(): Promise<void>;
}

export const SETUP_USAGE = `  --servers              also measure on the real local stack (or the servers PROGIMAGE_* names);
                         the same as BENCH_SERVERS=1
  --setups LIST          embedded, servers or embedded,servers (default embedded)`;

/** The parseArgs declarations of --servers and --setups. */
export const SETUP_OPTIONS = {
  servers: { type: 'boolean' },
  setups: { type: 'string' },
} as const;

export function parseSetups(
  values: { readonly servers?: boolean | undefined; readonly setups?: string | undefined },
  env: NodeJS.ProcessEnv,
  usage: string,
): SetupName[] {
  const names = (values.setups ?? 'embedded')
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
  const known: readonly string[] = ['embedded', 'servers'];
  if (names.length === 0 || names.some((name) => !known.includes(name))) {
    throw new UsageError(`--setups: expected embedded, servers or both, comma-separated, got "${values.setups ?? ''}"`, usage);
  }
  const setups = new Set(names as SetupName[]);
  if (values.servers === true || env.BENCH_SERVERS === '1') setups.add('servers');
  return [...setups];
}

const definedOnly = (env: Readonly<Record<string, string | undefined>>): Record<string, string> =>
  Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined));

/** `npm start`'s embedded adapters, under a data directory of their own. */
async function embeddedSetup(): Promise<PipelineSetup> {
  const dataDir = await mkdtemp(join(tmpdir(), 'progimage-bench-'));
  return {
    name: 'embedded',
    env: { PROGIMAGE_DATA_DIR: dataDir },
    deleteImagesAfter: false,
    remove: () => rm(dataDir, { recursive: true, force: true }),
  };
}

/**
 * The servers named by PROGIMAGE_* in the environment, else the local stack
 * (started if it is not running), in a Kafka namespace, catalog database and
 * bucket of the benchmark's own, so no other process on the same servers takes
 * its events, and MinIO holds no blobs of earlier runs.
 */
async function serversSetup(progress: (line: string) => void): Promise<PipelineSetup> {
  let env: Record<string, string>;
  if (process.env.PROGIMAGE_KAFKA_BROKERS !== undefined) {
    env = definedOnly(Object.fromEntries(Object.entries(process.env).filter(([name]) => name.startsWith('PROGIMAGE_'))));
  } else {
    await startStack(progress);
    env = { ...definedOnly(localStackEnvironment()), PROGIMAGE_SCAN: 'on' };
  }
  const { kafka, mongo, s3 } = loadConfig(env);
  if (kafka === null || mongo === null || s3 === null)
    throw new Error('the servers setup needs Kafka brokers, a MongoDB URL and an S3 endpoint');
  const deployment = isolatedDeployment('bench', { kafka, mongo, s3 });
  return { name: 'servers', env: { ...env, ...deployment.env }, deleteImagesAfter: true, remove: () => deployment.remove() };
}

export const openSetup = (name: SetupName, progress: (line: string) => void): Promise<PipelineSetup> =>
  name === 'embedded' ? embeddedSetup() : serversSetup(progress);
