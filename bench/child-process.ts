import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { newApiKey } from '../lib/auth/keys.ts';
import type { ClamdAddress } from './bare-instream.ts';

/** Debian's libjemalloc2 (`apt-get install libjemalloc2`). */
export const JEMALLOC_PATH = '/usr/lib/x86_64-linux-gnu/libjemalloc.so.2';

/** The key the service child's default tenant accepts, made for this run. */
export const BENCH_API_KEY = newApiKey();

export type Allocator = 'glibc' | 'jemalloc';

/** Settings a side's process starts with; both sides of a comparison get the same. */
export interface ChildSettings {
  readonly allocator: Allocator;
  /** sharp.concurrency(n) (libvips threads per operation); null: sharp's own choice (1 on glibc without jemalloc, else the CPUs). */
  readonly sharpConcurrency: number | null;
  readonly sharpCache: boolean;
  /** UV_THREADPOOL_SIZE; null: inherited (libuv's default is 4). */
  readonly threadpool: number | null;
  /** The service's PROGIMAGE_MAX_CONCURRENT_TRANSFORMS; null: its default. */
  readonly transformSlots: number | null;
  /** Write a V8 CPU profile of each measured window of the process here (node:inspector's Profiler). */
  readonly cpuProfileDir: string | null;
}

export type ChildRole = 'service' | 'bare-http' | 'bare-sharp';

export interface ChildInfo {
  readonly pid: number;
  readonly memorySettings: string;
  readonly sharpConcurrency: number;
  readonly sharpCache: string;
  readonly uvThreadpoolSize: string;
  /** The service's transformations at once (null on the bare sides). */
  readonly transformSlots: number | null;
}

export interface WindowResult {
  readonly seconds: number;
  readonly cpuSeconds: number;
  /** The main thread's event-loop utilisation (0-1): near 1, the JavaScript thread is the limit. */
  readonly eventLoopUtilization: number;
  readonly startRssBytes: number;
  readonly peakRssBytes: number;
  readonly endRssBytes: number;
  /** The V8 heap in use at the end of the window: what of the RSS is JavaScript objects. */
  readonly endHeapUsedBytes: number;
  /** The CPU profile of the window, when profiling (--profile). */
  readonly profile?: string;
}

export interface SharpLoopResult {
  readonly seconds: number;
  readonly latenciesMs: readonly number[];
  /** The first operation's output, to compare with the service's. */
  readonly output: Uint8Array;
  readonly width: number;
  readonly height: number;
}

export interface BreakdownPiece {
  readonly name: string;
  /** Per call, one call at a time: wall time, and CPU time of the whole process (the libuv pool's threads too). */
  readonly wallUs: number;
  readonly cpuUs: number;
}

export type ChildReply =
  | { readonly type: 'ready'; readonly info: ChildInfo; readonly port: number | null }
  | { readonly type: 'reply'; readonly id: number; readonly ok: true; readonly result: unknown }
  | { readonly type: 'reply'; readonly id: number; readonly ok: false; readonly error: string };

const infoSchema = z.object({
  pid: z.number(),
  memorySettings: z.string(),
  sharpConcurrency: z.number(),
  sharpCache: z.string(),
  uvThreadpoolSize: z.string(),
  transformSlots: z.number().nullable(),
});
const replySchema = z.union([
  z.object({ type: z.literal('ready'), info: infoSchema, port: z.number().nullable() }),
  z.object({ type: z.literal('reply'), id: z.number(), ok: z.literal(true), result: z.unknown() }),
  z.object({ type: z.literal('reply'), id: z.number(), ok: z.literal(false), error: z.string() }),
]);

const CHILD_SCRIPT = fileURLToPath(new URL('./bench-child.ts', import.meta.url));
const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 30_000;

/** The settings that act at process start, as environment: the allocator (LD_PRELOAD, empty for glibc) and UV_THREADPOOL_SIZE. */
export function startEnvironment(settings: ChildSettings): Record<string, string> {
  if (settings.allocator === 'jemalloc' && !existsSync(JEMALLOC_PATH)) {
    throw new Error(`--malloc jemalloc: ${JEMALLOC_PATH} is missing (apt-get install libjemalloc2)`);
  }
  return {
    LD_PRELOAD: settings.allocator === 'jemalloc' ? JEMALLOC_PATH : '',
    ...(settings.threadpool === null ? {} : { UV_THREADPOOL_SIZE: String(settings.threadpool) }),
  };
}

function childEnvironment(settings: ChildSettings, serviceEnv: Readonly<Record<string, string>> | null): NodeJS.ProcessEnv {
  // No PROGIMAGE_* setting leaks in: the service child configures itself explicitly, from serviceEnv when given.
  const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('PROGIMAGE_')));
  Object.assign(env, startEnvironment(settings));
  if (env.LD_PRELOAD === '') delete env.LD_PRELOAD;
  if (settings.transformSlots === null) delete env.BENCH_TRANSFORM_SLOTS;
  else env.BENCH_TRANSFORM_SLOTS = String(settings.transformSlots);
  if (settings.sharpConcurrency === null) delete env.BENCH_SHARP_CONCURRENCY;
  else env.BENCH_SHARP_CONCURRENCY = String(settings.sharpConcurrency);
  env.BENCH_SHARP_CACHE = settings.sharpCache ? 'on' : 'off';
  env.BENCH_API_KEY = BENCH_API_KEY;
  if (settings.cpuProfileDir === null) delete env.BENCH_PROFILE_DIR;
  else env.BENCH_PROFILE_DIR = settings.cpuProfileDir;
  if (serviceEnv === null) delete env.BENCH_SERVICE_ENV;
  else env.BENCH_SERVICE_ENV = JSON.stringify(serviceEnv);
  return env;
}

type Command =
  | { readonly cmd: 'window-start' | 'window-end' | 'stop' }
  | { readonly cmd: 'serve'; readonly body: Uint8Array; readonly headers: Readonly<Record<string, string>> }
  | {
      readonly cmd: 'sharp-loop';
      readonly fixture: string;
      /** One operation per size (width, height), in order, `concurrency` at a time. */
      readonly sizes: readonly (readonly [number, number])[];
      readonly quality: number;
      readonly mozjpeg: boolean;
      readonly concurrency: number;
      /** Scan each input there first (one INSTREAM); null: no scan. */
      readonly clamd: ClamdAddress | null;
    }
  | {
      readonly cmd: 'breakdown';
      readonly imageId: string;
      readonly extension: string;
      readonly query: string;
      readonly iterations: number;
    };

/** A side of a comparison in its own process (bench/bench-child.ts), driven over IPC. */
export class BenchChild {
  #nextId = 1;
  readonly #waiting = new Map<number, { resolve(result: unknown): void; reject(error: Error): void }>();
  #exited: Error | null = null;

  private constructor(
    private readonly child: ChildProcess,
    readonly role: ChildRole,
    readonly info: ChildInfo,
    readonly port: number | null,
  ) {
    child.on('message', (message: unknown) => {
      const parsed = replySchema.safeParse(message);
      if (!parsed.success || parsed.data.type !== 'reply') return;
      const reply = parsed.data;
      const waiting = this.#waiting.get(reply.id);
      this.#waiting.delete(reply.id);
      if (reply.ok) waiting?.resolve(reply.result);
      else waiting?.reject(new Error(`${role} child: ${reply.error}`));
    });
    child.on('exit', (code, signal) => {
      this.#exited = new Error(`the ${role} child exited (${signal ?? String(code)})`);
      for (const waiting of this.#waiting.values()) waiting.reject(this.#exited);
      this.#waiting.clear();
    });
  }

  /**
   * Starts a side. The service side runs on the PROGIMAGE_* settings of `serviceEnv` (a setup of
   * bench/pipeline-setups.ts); without them, on the embedded adapters under a temporary directory of its own, scanning off.
   */
  static start(role: ChildRole, settings: ChildSettings, serviceEnv: Readonly<Record<string, string>> | null = null): Promise<BenchChild> {
    const child = fork(CHILD_SCRIPT, [role], {
      env: childEnvironment(settings, serviceEnv),
      execArgv: process.execArgv, // infra/progimage-node's V8 flags and tsx's loader
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill();
        reject(new Error(`the ${role} child did not start within ${START_TIMEOUT_MS / 1000} s`));
      }, START_TIMEOUT_MS);
      const onExit = (code: number | null) => {
        clearTimeout(timer);
        reject(new Error(`the ${role} child exited with ${String(code)} before it was ready`));
      };
      child.once('exit', onExit);
      child.on('message', function onReady(message: unknown) {
        const parsed = replySchema.safeParse(message);
        if (!parsed.success || parsed.data.type !== 'ready') return;
        clearTimeout(timer);
        child.off('exit', onExit);
        child.off('message', onReady);
        resolve(new BenchChild(child, role, parsed.data.info, parsed.data.port));
      });
    });
  }

  #call(command: Command): Promise<unknown> {
    if (this.#exited !== null) return Promise.reject(this.#exited);
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject });
      this.child.send({ ...command, id });
    });
  }

  async windowStart(): Promise<void> {
    await this.#call({ cmd: 'window-start' });
  }

  async windowEnd(): Promise<WindowResult> {
    // The child builds the value; the types are shared with it (bench/bench-child.ts).
    return (await this.#call({ cmd: 'window-end' })) as WindowResult;
  }

  async serve(body: Uint8Array, headers: Readonly<Record<string, string>>): Promise<number> {
    const { port } = (await this.#call({ cmd: 'serve', body, headers })) as { port: number };
    return port;
  }

  async sharpLoop(options: Omit<Extract<Command, { cmd: 'sharp-loop' }>, 'cmd'>): Promise<SharpLoopResult> {
    return (await this.#call({ cmd: 'sharp-loop', ...options })) as SharpLoopResult;
  }

  async breakdown(options: Omit<Extract<Command, { cmd: 'breakdown' }>, 'cmd'>): Promise<BreakdownPiece[]> {
    return (await this.#call({ cmd: 'breakdown', ...options })) as BreakdownPiece[];
  }

  /** Stops the side (services stopped, data directory removed) and waits for the process to end; kills it if it hangs. */
  async stop(): Promise<void> {
    if (this.#exited !== null) return;
    const exited = new Promise<void>((resolve) =>
      this.child.once('exit', () => {
        resolve();
      }),
    );
    const timer = setTimeout(() => this.child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    try {
      await this.#call({ cmd: 'stop' }).catch(() => undefined);
      await exited;
    } finally {
      clearTimeout(timer);
    }
  }
}
