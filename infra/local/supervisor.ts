import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { waitUntil } from '../../lib/wait.ts';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** node with the runtime settings every ProgImage process runs with (its comments say which and why). */
export const PROGIMAGE_NODE = fileURLToPath(new URL('../progimage-node', import.meta.url));
/** A copy that crashes is started again after this long, doubling up to the most while it keeps crashing. */
const FIRST_RESTART_DELAY_MS = 1000;
const MOST_RESTART_DELAY_MS = 30_000;
/** The exit code of a service whose settings are wrong: starting it again cannot help. */
const EX_CONFIG = 78;
/** A copy that ran this long before it crashed counts as healthy again: its next restart is quick. */
const STABLE_AFTER_MS = 60_000;

/** A loopback port nothing listens on at the moment of asking. */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve, reject) => {
    server.close((error) => {
      if (error === undefined) resolve();
      else reject(error);
    });
  });
  return port;
}

/** One process to keep running: a service's main.ts, with the environment it needs. */
export interface SupervisedSpec {
  /** Unique: the role and the copy, e.g. `scan#2`. */
  readonly name: string;
  readonly main: string;
  readonly env: NodeJS.ProcessEnv;
  /** Where its /healthz, /readyz and /metrics answer. */
  readonly baseUrl: string;
}

/** What the supervisor says: a line for people, and the copy it concerns. */
export type SupervisorReport = (line: string) => void;

interface Copy {
  readonly spec: SupervisedSpec;
  child: ChildProcess | null;
  startedAt: number;
  restartDelayMs: number;
}

/**
 * Runs service processes the way an init system would: each one's output
 * prefixed with its name, each one started again (with a growing delay) when
 * it ends unasked, and all of them stopped with SIGTERM, then SIGKILL.
 */
export class Supervisor {
  readonly #copies = new Map<string, Copy>();
  readonly #report: SupervisorReport;
  #stopping = false;
  /** Rejects when a process ends in a way that starting it again cannot mend. */
  readonly failed: Promise<never>;
  #gaveUp: (error: Error) => void = () => undefined;

  constructor(report: SupervisorReport) {
    this.#report = report;
    this.failed = new Promise<never>((_resolve, reject) => {
      this.#gaveUp = reject;
    });
    this.failed.catch(() => undefined);
  }

  /** Starts the process; resolves once it has been spawned (not yet ready). */
  async start(spec: SupervisedSpec): Promise<void> {
    const copy: Copy = { spec, child: null, startedAt: 0, restartDelayMs: FIRST_RESTART_DELAY_MS };
    this.#copies.set(spec.name, copy);
    await this.#spawn(copy);
  }

  /** Resolves once every process answers 200 on /readyz; rejects if one of them cannot start. */
  async ready(timeoutMs: number, names: readonly string[] = [...this.#copies.keys()]): Promise<void> {
    const allReady = Promise.all(
      names.map((name) =>
        waitUntil(
          async () => {
            if (this.#stopping) throw new Error('stopping');
            return (await fetch(`${this.#copy(name).spec.baseUrl}/readyz`)).status === 200;
          },
          { timeoutMs, intervalMs: 250, description: `${name} to answer 200 on /readyz` },
        ),
      ),
    );
    await Promise.race([allReady, this.failed]);
  }

  /** The pid of each process now running, by name: for a caller that measures them (bench:cached's distributed layout). */
  pids(): ReadonlyMap<string, number> {
    return new Map(
      [...this.#copies].flatMap(([name, { child }]) =>
        child?.pid !== undefined && child.exitCode === null && child.signalCode === null ? [[name, child.pid] as const] : [],
      ),
    );
  }

  /**
   * SIGTERM to every process (a clean stop: consumers leave their groups), SIGKILL to any still there
   * after `graceMs`. Resolves with how each process ended that did not stop cleanly (exit code 0).
   */
  async stop(graceMs: number): Promise<readonly string[]> {
    this.#stopping = true;
    const running = [...this.#copies.values()].flatMap(({ spec, child }) =>
      child !== null && child.exitCode === null && child.signalCode === null ? [{ name: spec.name, child }] : [],
    );
    const ends = running.map(async ({ name, child }) => {
      const [code, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
      return code === 0 ? [] : [`${name} (pid ${child.pid ?? '?'}) ended with ${signal ?? `code ${code ?? '?'}`}`];
    });
    for (const { child } of running) child.kill('SIGTERM');
    const timer = setTimeout(() => {
      for (const { child } of running) child.kill('SIGKILL');
    }, graceMs);
    try {
      return (await Promise.all(ends)).flat();
    } finally {
      clearTimeout(timer);
    }
  }

  /** A method, not the field: a stop may have begun while the caller awaited. */
  #isStopping(): boolean {
    return this.#stopping;
  }

  #copy(name: string): Copy {
    const copy = this.#copies.get(name);
    if (copy === undefined) throw new Error(`no process named ${name}`);
    return copy;
  }

  async #spawn(copy: Copy): Promise<void> {
    const { name, main, env } = copy.spec;
    const child = spawn(PROGIMAGE_NODE, [main], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    copy.child = child;
    copy.startedAt = Date.now();
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream }).on('line', (line) => {
        process.stdout.write(`${name.padEnd(12)}| ${line}\n`);
      });
    }
    child.once('exit', (code, signal) => {
      void this.#exited(copy, child, code, signal);
    });
    await once(child, 'spawn');
    this.#report(`started ${name} (pid ${child.pid ?? '?'}) ${copy.spec.baseUrl}`);
  }

  async #exited(copy: Copy, child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): Promise<void> {
    if (this.#stopping || copy.child !== child) return;
    const ended = `${copy.spec.name} (pid ${child.pid ?? '?'}) ended with ${signal ?? `code ${code ?? '?'}`}`;
    if (code === EX_CONFIG) {
      this.#gaveUp(new Error(`${ended}: its configuration is not valid (see its output above)`));
      return;
    }
    const delayMs = Date.now() - copy.startedAt >= STABLE_AFTER_MS ? FIRST_RESTART_DELAY_MS : copy.restartDelayMs;
    copy.restartDelayMs = Math.min(delayMs * 2, MOST_RESTART_DELAY_MS);
    this.#report(`${ended}; starting it again in ${delayMs / 1000} s`);
    await sleep(delayMs);
    if (!this.#isStopping()) await this.#spawn(copy);
  }
}
