import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

/**
 * What Linux's /proc says of a process the bench did not fork itself (a
 * process of the distributed layout, started by infra/local/supervisor.ts):
 * its CPU time, its resident memory and its allocator. The bench's own
 * children measure themselves (bench/bench-child.ts).
 */

/** USER_HZ: the unit of utime and stime in /proc/PID/stat (100 on every Linux ABI Node runs on). */
const CLOCK_TICKS_PER_SECOND = 100;

/** User + system CPU seconds the process has used. */
export function cpuSecondsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) is in parentheses and may hold spaces: count fields after its closing one.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return (utime + stime) / CLOCK_TICKS_PER_SECOND;
}

export interface ResidentMemory {
  readonly rssBytes: number;
  /** Anonymous memory: the heaps (V8's, malloc's), stacks. */
  readonly anonBytes: number;
  /** File-backed pages: the node binary, shared libraries (libvips), mapped files. */
  readonly fileBytes: number;
}

const kilobytes = (status: string, field: string): number =>
  Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;

export function residentMemoryOf(pid: number): ResidentMemory {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return { rssBytes: kilobytes(status, 'VmRSS'), anonBytes: kilobytes(status, 'RssAnon'), fileBytes: kilobytes(status, 'RssFile') };
}

/** A V8 heap flag: `--max-semi-space-size=8`, `--max-old-space-size=512`, `--heap-growing-percent=100`, … */
const HEAP_FLAG = /^--(?:[a-z-]+-space-size|heap-growing-percent)=/;

/**
 * The memory settings a process runs with: its allocator (jemalloc when it is mapped, else glibc's
 * malloc and its arenas) and the V8 heap's flags, on its command line or in NODE_OPTIONS.
 */
export function memorySettingsOf(pid: number | 'self'): string {
  try {
    const environ = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
    const variable = (name: string): string | undefined => environ.find((entry) => entry.startsWith(`${name}=`))?.slice(name.length + 1);
    const given = [...readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0'), ...(variable('NODE_OPTIONS') ?? '').split(/\s+/)];
    const heapFlags = given.filter((argument) => HEAP_FLAG.test(argument));
    const heap = `V8 heap ${heapFlags.length === 0 ? 'as V8 sizes it' : heapFlags.join(' ')}`;
    if (readFileSync(`/proc/${pid}/maps`, 'utf8').includes('jemalloc')) return `jemalloc (LD_PRELOAD), ${heap}`;
    return `glibc malloc, MALLOC_ARENA_MAX ${variable('MALLOC_ARENA_MAX') ?? 'unset (8 per CPU)'}, ${heap}`;
  } catch {
    return 'unknown';
  }
}

export interface ProcessWindowResult {
  readonly seconds: number;
  readonly cpuSeconds: number;
  readonly peakRssBytes: number;
  /** At the end of the window. */
  readonly end: ResidentMemory;
}

/** Peak RSS (sampled every 50 ms, as the bench's children sample their own) and CPU time of another process over a window. */
export class ProcessWindow {
  #started = 0;
  #cpu = 0;
  #peakRss = 0;
  #timer: NodeJS.Timeout | null = null;

  constructor(readonly pid: number) {}

  start(): void {
    this.#started = performance.now();
    this.#cpu = cpuSecondsOf(this.pid);
    this.#peakRss = residentMemoryOf(this.pid).rssBytes;
    this.#timer = setInterval(() => {
      try {
        this.#peakRss = Math.max(this.#peakRss, residentMemoryOf(this.pid).rssBytes);
      } catch {
        // The process ended: end() reads /proc again and says so.
      }
    }, 50);
  }

  end(): ProcessWindowResult {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    const end = residentMemoryOf(this.pid);
    return {
      seconds: (performance.now() - this.#started) / 1000,
      cpuSeconds: cpuSecondsOf(this.pid) - this.#cpu,
      peakRssBytes: Math.max(this.#peakRss, end.rssBytes),
      end,
    };
  }
}
