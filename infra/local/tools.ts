import { spawn } from 'node:child_process';
import { accessSync, constants, openSync, closeSync } from 'node:fs';
import { delimiter, join } from 'node:path';

/** A program the stack needs is not installed; the message says what to install. */
export class MissingToolError extends Error {
  constructor(tool: string, hint: string) {
    super(`${tool} not found: ${hint}`);
    this.name = 'MissingToolError';
  }
}

/** Daemons such as clamd live in sbin, which is not on every user's PATH. */
const EXTRA_DIRS = ['/usr/local/sbin', '/usr/sbin', '/sbin'];

export function findExecutable(name: string): string | null {
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter((dir) => dir !== ''), ...EXTRA_DIRS];
  for (const dir of dirs) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return null;
}

export function requireTool(name: string, hint: string): string {
  const path = findExecutable(name);
  if (path === null) throw new MissingToolError(name, hint);
  return path;
}

export interface RunOptions {
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Output goes here (appended), so a failure can point at it. */
  readonly logFile: string;
  readonly timeoutMs?: number;
}

/** Runs a command to completion, its output appended to `logFile`; rejects naming the log on failure. */
export async function run(command: string, args: readonly string[], options: RunOptions): Promise<void> {
  const log = openSync(options.logFile, 'a');
  try {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['ignore', log, log],
      ...(options.timeoutMs === undefined ? {} : { timeout: options.timeoutMs }),
    });
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (exitCode, exitSignal) => {
        resolve([exitCode, exitSignal]);
      });
    });
    if (code !== 0) {
      const how = signal === null ? `exited with ${String(code)}` : `was stopped by ${signal}`;
      throw new Error(`${command} ${args.join(' ')} ${how}; see ${options.logFile}`);
    }
  } finally {
    closeSync(log);
  }
}

/**
 * Installs Debian packages with apt-get, as root only; otherwise, or where
 * there is no apt-get, a MissingToolError naming `tool` and `hint`.
 */
export async function installDebianPackages(packages: readonly string[], tool: string, hint: string, logFile: string): Promise<void> {
  const aptGet = findExecutable('apt-get');
  if (aptGet === null || process.getuid?.() !== 0) throw new MissingToolError(tool, hint);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  await run(aptGet, ['update'], { env, logFile });
  await run(aptGet, ['install', '-y', '--no-install-recommends', ...packages], { env, logFile });
}
