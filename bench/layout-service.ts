import type { ClamdAddress } from './bare-instream.ts';
import { BENCH_API_KEY, BenchChild, type ChildSettings } from './child-process.ts';
import { residentMemoryOf } from './process-stats.ts';
import { megabytes, settingsLine } from './side-options.ts';
import { uploadReady } from './upload-ready.ts';

/**
 * The service side of bench:cached and bench:transform (bench/cached-get.ts,
 * bench/transform-throughput.ts): whatever serves the API, in a layout —
 * `all-in-one`, every service in one process
 * of the bench's own (bench/bench-child.ts), as `npm start` runs them; or
 * `distributed`, the API process of `npm run start:distributed`'s layout
 * (bench/distributed-api.ts).
 */

export type Layout = 'all-in-one' | 'distributed';

export const LAYOUTS: readonly Layout[] = ['all-in-one', 'distributed'];

/** One measured window of the process that serves the load. */
export interface ServedWindow {
  readonly seconds: number;
  readonly cpuSeconds: number;
  /** The main thread's event-loop utilisation; null when the process cannot be asked (not the bench's child). */
  readonly eventLoopUtilization: number | null;
  readonly peakRssBytes: number;
  /** The V8 heap in use at the end of the window. */
  readonly endHeapUsedBytes: number;
  readonly profile?: string;
}

/** The clamd a layout scans request data with. */
export interface ScanningClamd {
  readonly address: ClamdAddress;
  /** Its pid when it is the local stack's, whose CPU time the bench can then read; else null. */
  readonly pid: number | null;
}

export interface LayoutService {
  readonly layout: Layout;
  /** The table's name for it: what serves the load. */
  readonly label: string;
  readonly port: number;
  /** The process that serves the load. */
  readonly pid: number;
  /** What the process runs with, for the report's settings line. */
  readonly settings: string;
  /** Where request data is scanned before it is decoded; null when the layout scans nothing. */
  readonly clamd: ScanningClamd | null;
  /** Uploads the image, waits until the pipeline has made it ready, and answers its id (deleted again at stop, where the setup needs it). */
  uploadReady(bytes: Buffer, contentType: string): Promise<string>;
  windowStart(): Promise<void>;
  windowEnd(): Promise<ServedWindow>;
  /** The cached GET's pieces, timed in the serving process; null where that process is not the bench's child. */
  readonly breakdown: BenchChild['breakdown'] | null;
  /** Report lines on the processes of the layout other than the one measured, once the load is over. */
  otherProcesses(): string[];
  stop(): Promise<void>;
}

/** A gauge's value in a /metrics text (its first series); null when it is not there. */
export const metricValue = (metrics: string, name: string): number | null => {
  const found = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(metrics)?.[1];
  return found === undefined ? null : Number(found);
};

/**
 * What the RSS of the serving process consists of now: anonymous memory (the V8 heap, Buffers and ArrayBuffers outside it,
 * malloc's heap and the libraries' own) and file-backed pages (the node binary, shared libraries), from /proc and the
 * process's own /metrics (prom-client's nodejs_* gauges).
 */
export async function memoryComposition(pid: number, base: string): Promise<string> {
  const memory = residentMemoryOf(pid);
  const metrics = await (await fetch(`${base}/metrics`)).text();
  const mb = (bytes: number | null) => (bytes === null ? '?' : megabytes(bytes));
  const heapTotal = metricValue(metrics, 'nodejs_heap_size_total_bytes');
  const heapUsed = metricValue(metrics, 'nodejs_heap_size_used_bytes');
  const external = metricValue(metrics, 'nodejs_external_memory_bytes');
  const rest = heapTotal === null || external === null ? null : memory.anonBytes - heapTotal - external;
  return (
    `RSS ${mb(memory.rssBytes)} MB = anonymous ${mb(memory.anonBytes)} MB (V8 heap ${mb(heapTotal)} MB, ${mb(heapUsed)} of it in use; ` +
    `Buffers and ArrayBuffers outside it ${mb(external)} MB; the rest, ${mb(rest)} MB: malloc's arenas, libvips, stacks, code) ` +
    `+ file-backed ${mb(memory.fileBytes)} MB (the node binary, shared libraries)`
  );
}

/** Every service in one process of the bench's own, on the embedded adapters, scanning off, as `npm start` runs them. */
export async function allInOneService(settings: ChildSettings): Promise<LayoutService> {
  const child = await BenchChild.start('service', settings);
  const { port } = child;
  if (port === null) {
    await child.stop();
    throw new Error('the service child has no port');
  }
  return {
    layout: 'all-in-one',
    label: 'service',
    port,
    pid: child.info.pid,
    settings: settingsLine([child]),
    clamd: null,
    uploadReady: (bytes, contentType) => uploadReady(`http://127.0.0.1:${port}`, bytes, contentType, BENCH_API_KEY),
    windowStart: () => child.windowStart(),
    windowEnd: () => child.windowEnd(),
    breakdown: (options) => child.breakdown(options),
    otherProcesses: () => [],
    stop: () => child.stop(),
  };
}
