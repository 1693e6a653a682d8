import { runningPid } from '../infra/local/processes.ts';
import { HOST, PORTS } from '../infra/local/settings.ts';
import { loadConfig } from '../lib/config/index.ts';
import { BENCH_API_KEY, startEnvironment, type ChildSettings } from './child-process.ts';
import { metricValue, type LayoutService, type ScanningClamd } from './layout-service.ts';
import { hostDistributed } from './pipeline-hosts.ts';
import { openSetup } from './pipeline-setups.ts';
import { memorySettingsOf, ProcessWindow, residentMemoryOf } from './process-stats.ts';
import { megabytes } from './side-options.ts';
import { uploadReady } from './upload-ready.ts';

/** The name infra/local/distributed-layout.ts gives the process that serves every public route. */
const API_PROCESS = 'api';

/** The clamd the layout's settings scan with, if they scan; its pid when it is the local stack's. */
function scanningClamd(env: Readonly<Record<string, string>>): ScanningClamd | null {
  const { scan } = loadConfig(env);
  if (!scan.enabled || scan.clamd === null) return null;
  const { host, port } = scan.clamd;
  return { address: { host, port }, pid: host === HOST && port === PORTS.clamd ? runningPid('clamd') : null };
}

/**
 * bench:cached's `distributed` layout: `npm run start:distributed`'s
 * processes (bench/pipeline-hosts.ts, infra/local/start-distributed.ts), on
 * the local server stack in a Kafka namespace and database of the run's own
 * (bench/pipeline-setups.ts). The image is made ready by the worker
 * processes; the load goes to the API process, which the layout puts at its
 * one address itself, with no proxy in front. That process is measured from
 * outside, through /proc and its /metrics.
 */
export async function distributedApi(settings: ChildSettings, copies: number, progress: (line: string) => void): Promise<LayoutService> {
  const setup = await openSetup('servers', progress);
  const env = {
    ...setup.env,
    ...startEnvironment(settings),
    ...(settings.transformSlots === null ? {} : { PROGIMAGE_MAX_CONCURRENT_TRANSFORMS: String(settings.transformSlots) }),
    PROGIMAGE_BOOTSTRAP_API_KEY: BENCH_API_KEY,
    PROGIMAGE_LOG_LEVEL: 'warn',
  };
  const host = await hostDistributed(env, copies, progress).catch(async (error: unknown) => {
    await setup.remove();
    throw error;
  });
  const base = host.baseUrl;
  const authorization = { Authorization: `Bearer ${BENCH_API_KEY}` };
  const ids: string[] = [];
  const pid = host.pids().get(API_PROCESS);
  if (pid === undefined) {
    await host.stop();
    await setup.remove();
    throw new Error(`the distributed layout has no ${API_PROCESS} process running`);
  }
  let window: ProcessWindow | null = null;
  return {
    layout: 'distributed',
    label: 'API process',
    port: Number(new URL(base).port),
    pid,
    settings:
      `api (pid ${pid}, ${copies} ${copies === 1 ? 'copy' : 'copies'} of each processor beside it): ${memorySettingsOf(pid)}, ` +
      `UV_THREADPOOL_SIZE = ${settings.threadpool ?? '4 (default)'}` +
      (settings.transformSlots === null ? '' : `, transformations at once ${settings.transformSlots}`),
    clamd: scanningClamd(env),
    uploadReady: async (bytes, contentType) => {
      const id = await uploadReady(base, bytes, contentType, BENCH_API_KEY);
      ids.push(id);
      return id;
    },
    windowStart: () => {
      if (host.pids().get(API_PROCESS) !== pid) throw new Error(`the ${API_PROCESS} process (pid ${pid}) is no longer running`);
      window = new ProcessWindow(pid);
      window.start();
      return Promise.resolve();
    },
    windowEnd: async () => {
      if (window === null) throw new Error('windowEnd before windowStart');
      const result = window.end();
      const heapUsed = metricValue(await (await fetch(`${base}/metrics`)).text(), 'nodejs_heap_size_used_bytes');
      return { ...result, eventLoopUtilization: null, endHeapUsedBytes: heapUsed ?? Number.NaN };
    },
    breakdown: null,
    otherProcesses: () => {
      const others = [...host.pids()].filter(([name]) => name !== API_PROCESS);
      const rss = others.map(([name, other]) => [name, residentMemoryOf(other).rssBytes] as const).sort((a, b) => b[1] - a[1]);
      const total = rss.reduce((sum, [, bytes]) => sum + bytes, 0);
      return [
        `endpoint     none in front: the distributed layout's API process listens on the layout's one address itself ` +
          `(infra/local/start-distributed.ts), so the load through the endpoint is the load on the API process`,
        `other        the layout's ${rss.length} other processes after the load (the load reaches none of them): RSS ${megabytes(total)} MB in all; ` +
          rss.map(([name, bytes]) => `${name} ${megabytes(bytes)}`).join(', '),
      ];
    },
    stop: async () => {
      try {
        for (const id of ids) {
          const response = await fetch(`${base}/v1/images/${id}`, { method: 'DELETE', headers: authorization });
          await response.arrayBuffer();
          if (response.status !== 204) progress(`could not delete the benchmark's image ${id}: DELETE answered ${response.status}`);
        }
      } finally {
        await host.stop();
        await setup.remove();
      }
    },
  };
}
