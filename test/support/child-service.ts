import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { waitUntil } from '../../lib/wait.ts';
import { freePort, PROGIMAGE_NODE } from '../../infra/local/supervisor.ts';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** How much of a child's output is kept for failure messages: its last lines matter most. */
const OUTPUT_LIMIT = 64 * 1024;

/** Children still running, killed if the test process exits without stopping them (e.g. a timed-out worker). */
const running = new Set<ChildService>();
process.once('exit', () => {
  for (const child of running) child.signal('SIGKILL');
});

export interface ChildExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** One service's main.ts running as its own process, as in production. */
export interface ChildService {
  readonly name: string;
  readonly baseUrl: string;
  readonly pid: number | undefined;
  /** Resolves when the process has ended (or could not be started). */
  readonly exited: Promise<ChildExit>;
  readonly hasExited: boolean;
  /** The end of its stdout and stderr, interleaved. */
  output(): string;
  /** Resolves once /readyz answers 200; rejects if the process ends first or the time runs out. */
  ready(timeoutMs: number): Promise<void>;
  /** Sends a signal unless the process has already ended. */
  signal(signal: NodeJS.Signals): void;
  /** SIGKILL, as a crash: no commit, no leaving the consumer group. */
  kill(): Promise<ChildExit>;
  /** SIGTERM (a clean stop leaves the consumer group at once), then SIGKILL after `graceMs`. Idempotent. */
  stop(graceMs?: number): Promise<ChildExit>;
}

/**
 * Spawns `infra/progimage-node <main>` (as every layout runs a service) from the
 * repository root with `env` and an HTTP port of its own on loopback. Returns at once, so that the caller can
 * register `stop()` for teardown before waiting for `ready()`.
 */
export async function spawnChildService(main: string, env: Readonly<Record<string, string | undefined>>): Promise<ChildService> {
  const port = await freePort();
  const child = spawn(PROGIMAGE_NODE, [main], {
    cwd: REPO_ROOT,
    env: { ...env, PROGIMAGE_HTTP_HOST: '127.0.0.1', PROGIMAGE_HTTP_PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const record = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-OUTPUT_LIMIT);
  };
  child.stdout.on('data', record);
  child.stderr.on('data', record);
  let hasExited = false;
  const exited = new Promise<ChildExit>((resolve) => {
    child.once('exit', (code, signal) => {
      resolve({ code, signal });
    });
    child.once('error', (error) => {
      record(Buffer.from(`\n[spawn failed: ${error.message}]\n`));
      resolve({ code: null, signal: null });
    });
  }).finally(() => {
    hasExited = true;
    running.delete(service);
  });

  const baseUrl = `http://127.0.0.1:${port}`;
  const describeExit = ({ code, signal }: ChildExit) => `${main} (pid ${child.pid ?? '?'}) ended with ${signal ?? `code ${code ?? '?'}`}`;
  const service: ChildService = {
    name: main,
    baseUrl,
    pid: child.pid,
    exited,
    get hasExited() {
      return hasExited;
    },
    output: () => output,
    async ready(timeoutMs) {
      let settled = false;
      const untilReady = waitUntil(
        async () => {
          if (settled) return true; // the race below is already lost: stop polling
          return (await fetch(`${baseUrl}/readyz`)).status === 200;
        },
        { timeoutMs, intervalMs: 100, description: `${main} to answer 200 on /readyz` },
      );
      const endedFirst = exited.then((exit) => {
        throw new Error(`${describeExit(exit)} before it was ready; its output:\n${output}`);
      });
      try {
        await Promise.race([untilReady, endedFirst]);
      } catch (error) {
        if (!hasExited && error instanceof Error) error.message += `\n${main}'s output so far:\n${output}`;
        throw error;
      } finally {
        settled = true;
        untilReady.catch(() => undefined);
        endedFirst.catch(() => undefined);
      }
    },
    signal(name) {
      if (!hasExited && child.exitCode === null && child.signalCode === null) child.kill(name);
    },
    kill() {
      service.signal('SIGKILL');
      return exited;
    },
    async stop(graceMs = 15_000) {
      service.signal('SIGTERM');
      const timer = setTimeout(() => {
        service.signal('SIGKILL');
      }, graceMs);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
  };
  running.add(service);
  return service;
}
