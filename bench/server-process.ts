import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { isRunning } from '../infra/local/processes.ts';
import { freePort } from '../infra/local/supervisor.ts';
import { onStopSignals } from '../lib/service/stop-signals.ts';
import { waitUntil } from '../lib/wait.ts';
import type { LoadRequest } from './load-run.ts';
import { ProcessWindow } from './process-stats.ts';

/** CPU time and peak RSS of a server's processes over a measured window. */
export interface ServerWindow {
  readonly cpuSeconds: number;
  /** The sum of each process's own peak. */
  readonly peakRssBytes: number;
}

/** An image server other than ProgImage, in processes of its own on loopback, measured from /proc. */
export interface ServerProcess {
  /** One, or one per instance of a server run as several (the load is split between them). */
  readonly ports: readonly [number, ...number[]];
  windowStart(): Promise<void>;
  windowEnd(): Promise<ServerWindow>;
  stop(): Promise<void>;
}

/** The work every side does: the fixture covering `size` (resized, then cropped centred), JPEG at `quality`. */
export interface TransformWork {
  /** The fixture's path, for a server that reads it as a stored original. */
  readonly fixturePath: string;
  /** Its bytes, for a server sent them as request data. */
  readonly fixture: Buffer;
  readonly quality: number;
}

/** One of them, running, ready to be sent the work. */
export interface OtherServer extends ServerProcess {
  /** Its name and version, and what its requests are: the report's setup column. */
  readonly label: string;
  /** How it runs, for the report. */
  readonly about: string;
  /** The request that makes it do the work at `size`. */
  request(size: readonly [number, number]): LoadRequest;
}

export interface ServerCommand {
  /** For error messages. */
  readonly name: string;
  readonly command: string;
  readonly args: (port: number) => readonly string[];
  /** A GET that answers 200 once the server serves. */
  readonly healthPath: string;
}

/** Processes' windows as one: CPU time and each one's peak RSS, summed. */
const summed = (windows: readonly ServerWindow[]): ServerWindow => ({
  cpuSeconds: windows.reduce((sum, window) => sum + window.cpuSeconds, 0),
  peakRssBytes: windows.reduce((sum, window) => sum + window.peakRssBytes, 0),
});

/** The process and the children it forked (a pre-forking server's workers). */
function processTree(pid: number): number[] {
  let children: number[] = [];
  try {
    children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    // it ended: the window's end says so
  }
  return [pid, ...children.flatMap(processTree)];
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // gone already
  }
}

/** The servers started and not stopped yet, by the pid of each one's first process. */
const running = new Set<number>();

/**
 * Once: a bench stopped by a signal (Ctrl-C, or SIGTERM to its own process
 * alone) stops the servers it started first, which would otherwise outlive it.
 */
let stopsServersOnSignals = false;
function stopServersOnSignals(): void {
  if (stopsServersOnSignals) return;
  stopsServersOnSignals = true;
  onStopSignals((received) => {
    for (const pid of running) for (const each of processTree(pid).reverse()) signal(each, 'SIGTERM');
    process.exit(128 + constants.signals[received]);
  });
}

export async function startServerProcess({ name, command, args, healthPath }: ServerCommand): Promise<ServerProcess> {
  const port = await freePort();
  stopServersOnSignals();
  const child = spawn(command, args(port), { stdio: ['ignore', 'ignore', 'inherit'] });
  const exited = once(child, 'exit');
  const { pid } = child;
  if (pid !== undefined) running.add(pid);
  /** Every process of the tree: a pre-forking server's workers may outlive their parent. */
  const stop = async (): Promise<void> => {
    const tree = pid === undefined ? [] : processTree(pid);
    if (pid !== undefined) running.delete(pid);
    for (const each of tree.reverse()) signal(each, 'SIGTERM');
    if (child.exitCode === null && child.signalCode === null) await exited;
    // A worker whose parent went first may stay a zombie for long: isRunning counts it as ended.
    await waitUntil(() => !tree.some(isRunning), { timeoutMs: 10_000, intervalMs: 50, description: `${name} to stop` });
  };
  try {
    if (pid === undefined) throw new Error(`${command} did not start`);
    await waitUntil(async () => (await fetch(`http://127.0.0.1:${port}${healthPath}`)).ok || false, {
      timeoutMs: 20_000,
      intervalMs: 100,
      description: `${name} to answer ${healthPath} on port ${port}`,
    });
  } catch (error) {
    await stop();
    throw error;
  }
  let windows: ProcessWindow[] = [];
  return {
    ports: [port],
    windowStart: () => {
      windows = processTree(pid).map((each) => new ProcessWindow(each));
      for (const window of windows) window.start();
      return Promise.resolve();
    },
    windowEnd: () => Promise.resolve(summed(windows.map((window) => window.end()))),
    stop,
  };
}

/** Instances of one server, each on its own port (started one after another: each takes a free port), measured and stopped as one. */
export async function serverInstances(count: number, start: () => Promise<ServerProcess>): Promise<ServerProcess> {
  const running: ServerProcess[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(running.map((instance) => instance.stop()));
  };
  try {
    while (running.length < count) running.push(await start());
  } catch (error) {
    await stop();
    throw error;
  }
  const [first, ...more] = running;
  if (first === undefined) throw new Error('no instance to start');
  return {
    ports: [first.ports[0], ...more.map((instance) => instance.ports[0])],
    windowStart: async () => {
      await Promise.all(running.map((instance) => instance.windowStart()));
    },
    windowEnd: async () => summed(await Promise.all(running.map((instance) => instance.windowEnd()))),
    stop,
  };
}
