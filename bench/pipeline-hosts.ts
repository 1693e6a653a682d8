import type { AddressInfo } from 'node:net';
import { constants, cpus } from 'node:os';
import { runningPid } from '../infra/local/processes.ts';
import { LOCAL_SERVERS } from '../infra/local/stack-runner.ts';
import { startDistributed } from '../infra/local/start-distributed.ts';
import { freePort, Supervisor } from '../infra/local/supervisor.ts';
import { loadConfig } from '../lib/config/index.ts';
import { hostServices } from '../lib/service/host.ts';
import { onStopSignals } from '../lib/service/stop-signals.ts';
import { ALL_SERVICES } from '../services.ts';
import { cpuSecondsOf } from './process-stats.ts';

/** Where a pipeline benchmark's services run: the API's address, what they cost, and how to stop them. */
export interface PipelineHost {
  readonly baseUrl: string;
  /** What `cpuSeconds` counts, for the report. */
  readonly cpuMeasure: string;
  /** CPU seconds used so far (user + system) by what `cpuMeasure` names. */
  cpuSeconds(): number;
  /** CPU seconds used so far by each process that runs the pipeline or serves it, by name. */
  cpuSecondsByProcess(): ReadonlyMap<string, number>;
  stop(): Promise<void>;
}

/** This process's CPU seconds (user + system). */
function ownCpuSeconds(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}

const STOP_GRACE_MS = 20_000;

/** Every service in this process on the setup's adapters, as `npm start` runs them. */
export async function hostInProcess(name: string, env: Readonly<Record<string, string>>): Promise<PipelineHost> {
  const hosted = await hostServices(
    `bench-${name}`,
    ALL_SERVICES,
    loadConfig({ ...env, PROGIMAGE_HTTP_HOST: '127.0.0.1', PROGIMAGE_HTTP_PORT: '0' }),
  );
  const { port } = hosted.server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    cpuMeasure: 'this process (every service and the client)',
    cpuSeconds: ownCpuSeconds,
    cpuSecondsByProcess: () => new Map([['this process (every service and the client)', ownCpuSeconds()]]),
    stop: () => hosted.stop(),
  };
}

/** CPU time of the whole machine: the services' processes, the servers (Kafka, MinIO, FerretDB, clamd) and the client. */
function machineCpuSeconds(): number {
  return cpus().reduce((sum, { times }) => sum + times.user + times.nice + times.sys + times.irq, 0) / 1000;
}

/** The CPU seconds of each process of the layout, of each local server and of this process (the client); a process gone is left out. */
function cpuSecondsOfLayout(layout: ReadonlyMap<string, number>): ReadonlyMap<string, number> {
  const servers = LOCAL_SERVERS.flatMap((server) => {
    const pid = runningPid(server.name);
    return pid === null ? [] : [[server.name, pid] as const];
  });
  const measured = new Map<string, number>([['bench client (this process)', ownCpuSeconds()]]);
  for (const [name, pid] of [...layout, ...servers]) {
    try {
      measured.set(name, cpuSecondsOf(pid));
    } catch {
      // It ended between the listing and the reading.
    }
  }
  return measured;
}

/** The distributed layout's processes, to measure them one by one. */
export interface DistributedHost extends PipelineHost {
  /** The pid of each process now running, by name (`api`, `scan#1`, …): infra/local/distributed-layout.ts. */
  pids(): ReadonlyMap<string, number>;
}

/**
 * Every service its own process, `copies` of each pipeline processor, as
 * `npm run start:distributed` runs them, on the setup's servers; the client
 * uses the one API address.
 */
export async function hostDistributed(
  env: Readonly<Record<string, string>>,
  copies: number,
  progress: (line: string) => void,
): Promise<DistributedHost> {
  const supervisor = new Supervisor((line) => {
    progress(`distributed: ${line}`);
  });
  // A benchmark stopped by a signal stops the layout before it exits: its processes would outlive it otherwise.
  const forgetSignals = onStopSignals((signal) => {
    void supervisor.stop(STOP_GRACE_MS).finally(() => process.exit(128 + constants.signals[signal]));
  });
  try {
    const port = await freePort();
    const baseUrl = `http://127.0.0.1:${port}`;
    await startDistributed(
      supervisor,
      { ...process.env, ...env, PROGIMAGE_HTTP_HOST: '127.0.0.1', PROGIMAGE_HTTP_PORT: String(port) },
      copies,
      baseUrl,
    );
    return {
      baseUrl,
      cpuMeasure: 'the whole machine (every process, the servers and the client)',
      cpuSeconds: machineCpuSeconds,
      pids: () => supervisor.pids(),
      cpuSecondsByProcess: () => cpuSecondsOfLayout(supervisor.pids()),
      stop: async () => {
        for (const end of await supervisor.stop(STOP_GRACE_MS)) progress(`distributed: ${end} instead of stopping cleanly`);
        forgetSignals();
      },
    };
  } catch (error) {
    await supervisor.stop(STOP_GRACE_MS);
    forgetSignals();
    throw error;
  }
}
