import { mkdirSync } from 'node:fs';
import { connect } from 'node:net';
import { waitUntil, WaitTimeoutError } from '../../lib/wait.ts';
import { withStackLock } from './lock.ts';
import { runningPid, startDetached, stopProcess } from './processes.ts';
import type { LocalServer } from './server.ts';
import { clamdServer } from './servers/clamd.ts';
import { ferretdbServer } from './servers/ferretdb.ts';
import { kafkaServer } from './servers/kafka.ts';
import { minioServer } from './servers/minio.ts';
import { HOST, runDir } from './settings.ts';

export const LOCAL_SERVERS: readonly LocalServer[] = [kafkaServer, minioServer, ferretdbServer, clamdServer];

/** A server that did not come up; the message names its log file. */
export class ServerStartError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ServerStartError';
  }
}

type Report = (line: string) => void;

async function healthy(server: LocalServer): Promise<boolean> {
  try {
    await server.checkHealth();
    return true;
  } catch {
    return false;
  }
}

async function waitHealthy(server: LocalServer): Promise<void> {
  try {
    await waitUntil(
      async () => {
        if (runningPid(server.name) === null) {
          throw new ServerStartError(`${server.name} exited while starting; see ${server.logFile}`);
        }
        await server.checkHealth();
        return true;
      },
      { timeoutMs: server.startTimeoutMs, intervalMs: 500, description: `${server.name} to answer` },
    );
  } catch (error) {
    const cause = error instanceof WaitTimeoutError ? error.cause : error;
    if (cause instanceof ServerStartError) throw cause;
    throw new ServerStartError(
      `${server.name} did not answer its health check within ${server.startTimeoutMs / 1000} s; see ${server.logFile}`,
    );
  }
}

/** Resolves true when something accepts connections on the loopback port. */
export function portInUse(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: HOST, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => {
      resolve(false);
    });
  });
}

/** A server of another stack (or another program) on our port would pass our health check: refuse instead. */
async function assertPortsFree(server: LocalServer): Promise<void> {
  for (const port of server.ports) {
    if (await portInUse(port)) {
      throw new ServerStartError(
        `${server.name} cannot start: ${HOST}:${port} is already in use by another program (another ProgImage stack?)`,
      );
    }
  }
}

/** Starts the server unless it is running and healthy; resolves once it answers its health check (and afterReady ran). */
export async function ensureRunning(server: LocalServer, report: Report): Promise<void> {
  const pid = runningPid(server.name);
  if (pid !== null && (await healthy(server))) {
    report(`${server.name}: already running (pid ${pid}) at ${server.address}`);
  } else {
    if (pid !== null) await stopProcess(server.name); // alive but not answering: restart it
    await assertPortsFree(server);
    await server.prepare();
    const started = await startDetached(server.name, server.process(), server.logFile);
    await waitHealthy(server);
    report(`${server.name}: started (pid ${started}) at ${server.address}`);
  }
  await server.afterReady?.();
}

/** Installs what is missing, then starts every server that is not running and healthy. */
export async function startStack(report: Report): Promise<void> {
  mkdirSync(runDir, { recursive: true });
  await withStackLock(async () => {
    await Promise.all(LOCAL_SERVERS.map((server) => server.install()));
    await Promise.all(LOCAL_SERVERS.map((server) => ensureRunning(server, report)));
  });
}

/** Stops every server of the stack; none is left running afterwards. */
export async function stopStack(report: Report): Promise<void> {
  mkdirSync(runDir, { recursive: true });
  await withStackLock(async () => {
    await Promise.all(
      LOCAL_SERVERS.map(async (server) => {
        const wasRunning = await stopProcess(server.name);
        report(`${server.name}: ${wasRunning ? 'stopped' : 'was not running'}`);
      }),
    );
  });
}

/** One line per server: running or not, healthy or not, where. */
export async function stackStatus(): Promise<string[]> {
  return Promise.all(
    LOCAL_SERVERS.map(async (server) => {
      const pid = runningPid(server.name);
      if (pid === null) return `${server.name.padEnd(9)} stopped`;
      const health = (await healthy(server)) ? 'healthy' : `NOT answering (see ${server.logFile})`;
      return `${server.name.padEnd(9)} running  pid ${String(pid).padEnd(7)} ${server.address}  ${health}`;
    }),
  );
}
