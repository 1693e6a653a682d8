import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { isolatedDeployment } from '../../infra/local/deployment.ts';
import { freePort, PROGIMAGE_NODE } from '../../infra/local/supervisor.ts';
import { localStackEnvironment } from '../../infra/local/settings.ts';
import { waitUntil } from '../../lib/wait.ts';
import { TEST_AUTH_ENV } from './api.ts';
import { serverConfig } from './servers.ts';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** Sixteen processes compile their TypeScript and join their consumer groups on two CPUs. */
const READY_TIMEOUT_MS = 240_000;
const OUTPUT_LIMIT = 256 * 1024;

/** `npm run start:distributed` as a user starts it, on a deployment of its own. */
export interface DistributedProgImage {
  /** The one base URL of the whole API. */
  readonly baseUrl: string;
  /** The pid of the named process (`api`, `transform#1` …) as last started by the launcher. */
  pid(name: string): number;
  /** Every process the launcher started, including those it started again. */
  allPids(): readonly number[];
  /** The launcher's output so far (every process's lines, prefixed with its name). */
  output(): string;
  /**
   * Ctrl-C as a terminal sends it, to every process of the layout, and once more while they stop (a
   * second press, or tsx passing the first on again): resolves with the launcher's exit code.
   */
  stop(): Promise<number | null>;
}

/** Starts the launcher; resolves when it says every process is ready. */
export async function startDistributed(label: string, env: Readonly<Record<string, string>> = {}): Promise<DistributedProgImage> {
  const servers = await serverConfig();
  const deployment = isolatedDeployment(label, servers);
  const port = await freePort();
  const stack = process.env.PROGIMAGE_KAFKA_BROKERS === undefined ? localStackEnvironment() : {};
  const launcher = spawn(PROGIMAGE_NODE, ['infra/local/distributed.ts'], {
    cwd: REPO_ROOT,
    // Its own process group, so that a test that dies still takes every process down with it (see the exit hook).
    detached: true,
    env: {
      ...process.env,
      ...stack,
      ...deployment.env,
      ...TEST_AUTH_ENV,
      PROGIMAGE_LOG_LEVEL: 'warn',
      PROGIMAGE_SCHEDULE_ORPHANS: 'off',
      PROGIMAGE_SCHEDULE_SIGNATURES: 'off',
      ...env,
      PROGIMAGE_HTTP_HOST: '127.0.0.1',
      PROGIMAGE_HTTP_PORT: String(port),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  /** A signal to every process of the layout, as long as the launcher runs. */
  const signalGroup = (signal: NodeJS.Signals) => {
    if (launcher.pid === undefined || launcher.exitCode !== null) return;
    try {
      process.kill(-launcher.pid, signal);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error; // every process has already ended
    }
  };
  const killGroup = () => {
    signalGroup('SIGKILL');
  };
  process.once('exit', killGroup);
  const exited = once(launcher, 'exit').then(([code]) => code as number | null);
  let output = '';
  const pids = new Map<string, number>();
  const started = new Set<number>();
  const record = (chunk: Buffer) => {
    const text = chunk.toString('utf8');
    output = (output + text).slice(-OUTPUT_LIMIT);
    for (const [, name, pid] of text.matchAll(/started (\S+) \(pid (\d+)\)/g)) {
      pids.set(name ?? '', Number(pid));
      started.add(Number(pid));
    }
  };
  launcher.stdout.on('data', record);
  launcher.stderr.on('data', record);
  let ended = false;
  void exited.then(() => {
    ended = true;
  });
  await waitUntil(
    () => {
      if (ended) throw new Error(`the launcher ended before it was ready:\n${output}`);
      return output.includes('| ready:');
    },
    { timeoutMs: READY_TIMEOUT_MS, intervalMs: 250, description: 'every process of the distributed layout to be ready' },
  ).catch((error: unknown) => {
    killGroup();
    throw error;
  });
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    pid(name) {
      const pid = pids.get(name);
      if (pid === undefined) throw new Error(`the launcher started no process named ${name}`);
      return pid;
    },
    allPids: () => [...started],
    output: () => output,
    async stop() {
      signalGroup('SIGINT');
      await waitUntil(() => ended || output.includes('stopping every process'), {
        timeoutMs: 10_000,
        intervalMs: 50,
        description: 'the launcher to begin stopping',
      });
      signalGroup('SIGINT');
      const code = await exited;
      process.off('exit', killGroup);
      await deployment.remove();
      return code;
    },
  };
}
