import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { waitUntil } from '../../lib/wait.ts';
import { runDir } from './settings.ts';

export interface ProcessSpec {
  readonly command: string;
  readonly args: readonly string[];
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
}

const pidRecord = z.object({ pid: z.number().int().positive(), command: z.string() });

const pidFile = (name: string): string => join(runDir, `${name}.pid`);

/** True while the process exists and has not ended: a zombie (ended, not yet reaped) is not running. */
export function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The state follows the parenthesised name; Z is a zombie, already dead.
    return !stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return false;
  }
}

/** True for a live process whose command line still names `command` (guards against a reused pid). */
function isAlive(pid: number, command: string): boolean {
  if (!isRunning(pid)) return false;
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes(command);
  } catch {
    return false;
  }
}

/** The pid of the named server if it is running, else null. */
export function runningPid(name: string): number | null {
  let record: z.infer<typeof pidRecord>;
  try {
    record = pidRecord.parse(JSON.parse(readFileSync(pidFile(name), 'utf8')));
  } catch {
    return null;
  }
  return isAlive(record.pid, record.command) ? record.pid : null;
}

/** Starts a server in its own process group, detached from this process, output appended to `logFile`. */
export async function startDetached(name: string, spec: ProcessSpec, logFile: string): Promise<number> {
  const log = openSync(logFile, 'a');
  try {
    const child = spawn(spec.command, spec.args, {
      cwd: spec.cwd,
      env: spec.env ?? process.env,
      detached: true,
      stdio: ['ignore', log, log],
    });
    await once(child, 'spawn');
    const pid = child.pid;
    if (pid === undefined) throw new Error(`${name} did not start; see ${logFile}`);
    child.unref();
    writeFileSync(pidFile(name), JSON.stringify({ pid, command: spec.command }));
    return pid;
  } finally {
    closeSync(log);
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // the group is gone already
  }
}

/** Stops the named server and everything it started; resolves once no process of it is left. */
export async function stopProcess(name: string, graceMs = 30_000): Promise<boolean> {
  const pid = runningPid(name);
  if (pid !== null) {
    signalGroup(pid, 'SIGTERM');
    try {
      await waitUntil(() => runningPid(name) === null, { timeoutMs: graceMs, description: `${name} to stop` });
    } catch {
      signalGroup(pid, 'SIGKILL');
      await waitUntil(() => runningPid(name) === null, { timeoutMs: 5000, description: `${name} to die` });
    }
  }
  rmSync(pidFile(name), { force: true });
  return pid !== null;
}
