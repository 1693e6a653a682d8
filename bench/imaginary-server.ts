import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { goTool } from '../infra/local/go-tools.ts';
import { freePort } from '../infra/local/supervisor.ts';
import { waitUntil } from '../lib/wait.ts';
import type { LoadRequest } from './load-run.ts';
import { ProcessWindow, type ProcessWindowResult } from './process-stats.ts';

/** Its version is infra/imaginary/go.mod's; its libvips is Debian's libvips-dev. */
export const IMAGINARY_NAME = 'imaginary 1.2.4';

/**
 * imaginary (https://github.com/h2non/imaginary), a Go image server on
 * libvips, in a process of its own on loopback, with its defaults but for its
 * access log (off, as ProgImage logs no line per request). Built by
 * infra/local/go-tools.ts on first use.
 */
export interface ImaginaryServer {
  readonly pid: number;
  readonly port: number;
  /** The libvips it runs on (pkg-config's version of it). */
  readonly libvips: string;
  /** The limit's work on request data: cover `size` (imaginary's /crop, centred), JPEG at `quality`, metadata stripped. */
  request(size: readonly [number, number], body: Buffer, quality: number): LoadRequest;
  windowStart(): Promise<void>;
  windowEnd(): Promise<ProcessWindowResult>;
  stop(): Promise<void>;
}

export async function startImaginary(): Promise<ImaginaryServer> {
  const binary = await goTool('imaginary');
  const port = await freePort();
  const child = spawn(binary, ['-a', '127.0.0.1', '-p', String(port), '-log-level', 'error'], { stdio: ['ignore', 'ignore', 'inherit'] });
  const exited = once(child, 'exit');
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  const { pid } = child;
  try {
    if (pid === undefined) throw new Error(`${binary} did not start`);
    await waitUntil(async () => (await fetch(`http://127.0.0.1:${port}/health`)).ok || false, {
      timeoutMs: 10_000,
      intervalMs: 100,
      description: `${IMAGINARY_NAME} to answer /health on port ${port}`,
    });
  } catch (error) {
    await stop();
    throw error;
  }
  let window: ProcessWindow | null = null;
  return {
    pid,
    port,
    libvips: spawnSync('pkg-config', ['--modversion', 'vips'], { encoding: 'utf8' }).stdout.trim(),
    request: ([width, height], body, quality) => ({
      method: 'POST',
      path: `/crop?width=${width}&height=${height}&quality=${quality}&type=jpeg&stripmeta=true`,
      headers: { 'Content-Type': 'image/jpeg' },
      body,
    }),
    windowStart: () => {
      window = new ProcessWindow(pid);
      window.start();
      return Promise.resolve();
    },
    windowEnd: () => {
      if (window === null) return Promise.reject(new Error('windowEnd before windowStart'));
      return Promise.resolve(window.end());
    },
    stop,
  };
}
