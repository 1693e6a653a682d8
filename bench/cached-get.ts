/**
 * `npm run bench:cached`: a cached derived image (GET /v1/images/ID.webp?w=400
 * after it was made once) at 64 connections, next to a bare node:http server
 * sending the same bytes from memory with the same headers, both driven by the
 * same load generator, as a ratio. A report: it exits 0 whether or not the
 * target is met, and non-zero only when the run itself fails. See
 * docs/BENCHMARKS.md.
 */
import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { memoryComposition, type Layout, type ServedWindow } from './layout-service.ts';
import { LAYOUT_OPTIONS, LAYOUT_USAGE, layoutRunName, parseLayouts, startLayoutService, type LayoutOptions } from './layout-options.ts';
import { BENCH_API_KEY, BenchChild, type BreakdownPiece, type ChildSettings } from './child-process.ts';
import { parseCommandLine, runBenchmark, UsageError, wholeNumber } from './command-line.ts';
import { authenticated, requestOnce, runLoad, type LoadRequest } from './load-run.ts';
import {
  configName,
  loadAverage,
  machineLines,
  megabytes,
  orderOfRound,
  parseShared,
  progress,
  RSS_TARGET_BYTES,
  settingsLine,
  SETTINGS_USAGE,
  reportTail,
  SHARED_OPTIONS,
  startedNow,
  type SharedOptions,
  type Started,
} from './side-options.ts';
import { againstTarget, fixed, formatTable, quantile } from './stats.ts';

const HOST = '127.0.0.1';
/** Requests one at a time on one connection, for the unloaded latency of each side. */
const SEQUENTIAL_REQUESTS = 1000;
/** Calls of each piece of the GET, one at a time, in the service's process. */
const BREAKDOWN_ITERATIONS = 2000;
/** Headers Node's http server writes itself; everything else the service sent, the bare server sends too. */
const SERVER_WRITTEN = new Set(['date', 'connection', 'keep-alive', 'content-length', 'transfer-encoding']);

const USAGE = `Usage: npm run bench:cached -- [options]

  --connections N        keep-alive connections, each with one request in flight (default 64)
  --duration S           seconds per side and per round (default 6)
  --warm-up S            seconds of untimed load on each side first (default 3)
  --query Q              the derived image asked for: GET /v1/images/ID.<format>?Q (default w=400)
  --format F             its format, by extension (default webp)
${LAYOUT_USAGE}
${SETTINGS_USAGE}

The target ratio (service req/s / bare server req/s) defaults to 0.8; the service's peak RSS under the load should stay
within ${megabytes(RSS_TARGET_BYTES)} MB.`;

interface Options extends SharedOptions, LayoutOptions {
  readonly connections: number;
  readonly durationMs: number;
  readonly warmUpMs: number;
  readonly query: string;
  readonly format: string;
}

function parseOptions(argv: readonly string[]): Options | 'help' {
  const values = parseCommandLine(
    argv,
    {
      ...SHARED_OPTIONS,
      connections: { type: 'string' },
      duration: { type: 'string' },
      'warm-up': { type: 'string' },
      query: { type: 'string' },
      format: { type: 'string' },
      ...LAYOUT_OPTIONS,
    },
    USAGE,
  );
  if (values === 'help') return 'help';
  const format = values.format ?? 'webp';
  if (!/^[a-z0-9]+$/.test(format)) throw new UsageError(`--format: expected an extension such as webp, got "${format}"`, USAGE);
  return {
    ...parseShared(values, 0.8, USAGE, 4),
    connections: wholeNumber('connections', values.connections, 64, 1, USAGE),
    durationMs: wholeNumber('duration', values.duration, 6, 1, USAGE) * 1000,
    warmUpMs: wholeNumber('warm-up', values['warm-up'], 3, 0, USAGE) * 1000,
    query: values.query ?? 'w=400',
    format,
    ...parseLayouts(values, USAGE),
  };
}

type Side = 'bare' | 'service';

interface Totals {
  requests: number;
  seconds: number;
  latenciesMs: number[];
  cpuSeconds: number;
  /** Null when a window could not say (the distributed layout's API process is not the bench's child). */
  eventLoopBusySeconds: number | null;
  peakRssBytes: number;
  /** The V8 heap in use at the end of the last round: what of the RSS is JavaScript objects. */
  endHeapUsedBytes: number;
  clientCpuSeconds: number;
  rates: number[];
}

interface ConfigRun {
  readonly settings: ChildSettings;
  readonly layout: Layout;
  /** The table's name for what served the load. */
  readonly label: string;
  /** What the serving process's RSS consisted of before the warm-up and at the end of the load. */
  readonly memory: { readonly before: string; readonly after: string };
  readonly lines: readonly string[];
  readonly totals: Readonly<Record<Side, Totals>>;
  /** Transformations the service made from the first GET to the end (1: every measured GET was a hit). */
  readonly transformsMade: number | null;
  /** GET /healthz on the service at the same connections: the framework's floor (Koa, router, metrics, error middleware). */
  readonly floor: { readonly rate: number; readonly p50Ms: number; readonly cpuUsPerRequest: number };
  /** One request at a time on one connection. */
  readonly sequential: Readonly<Record<Side, { readonly meanMs: number; readonly p50Ms: number }>>;
  /** Null where the serving process is not the bench's child. */
  readonly breakdown: readonly BreakdownPiece[] | null;
}

const emptyTotals = (): Totals => ({
  requests: 0,
  seconds: 0,
  latenciesMs: [],
  cpuSeconds: 0,
  eventLoopBusySeconds: 0,
  peakRssBytes: 0,
  endHeapUsedBytes: 0,
  clientCpuSeconds: 0,
  rates: [],
});

/** progimage_transforms_total summed over formats, from /metrics. */
async function transformsMade(base: string): Promise<number | null> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const values = [...text.matchAll(/^progimage_transforms_total\{[^}]*\} (\d+)/gm)].map((match) => Number(match[1]));
  return values.length === 0 ? null : values.reduce((sum, value) => sum + value, 0);
}

/** The side that a window measures: the bench's own child, or the service in its layout. */
interface Measured {
  windowStart(): Promise<void>;
  windowEnd(): Promise<ServedWindow>;
}

async function runConfig(options: Options, settings: ChildSettings, layout: Layout, fixture: Buffer): Promise<ConfigRun> {
  const name = `${configName(settings)}, ${layout}`;
  progress(`${name}: starting the service; uploading the fixture and waiting until it is ready`);
  const service = await startLayoutService(layout, settings, options.copies);
  let bare: BenchChild | null = null;
  try {
    const servicePort = service.port;
    const base = `http://${HOST}:${servicePort}`;
    const id = await service.uploadReady(fixture, 'image/jpeg');
    const path = `/v1/images/${id}.${options.format}?${options.query}`;
    const request: LoadRequest = { path, headers: authenticated(BENCH_API_KEY) };
    const made = await requestOnce(HOST, servicePort, request); // the miss: the transformation is made and stored
    const cached = await requestOnce(HOST, servicePort, request); // from the store
    if (made.status !== 200 || cached.status !== 200) {
      throw new Error(`GET ${path} answered ${made.status}, then ${cached.status}`);
    }
    if (made.headers.etag !== cached.headers.etag || !made.body.equals(cached.body)) {
      throw new Error(`GET ${path} answered different content twice: ETag ${made.headers.etag ?? '-'}, then ${cached.headers.etag ?? '-'}`);
    }
    const transformsBefore = await transformsMade(base);

    const replayed = Object.fromEntries(Object.entries(cached.headers).filter(([header]) => !SERVER_WRITTEN.has(header)));
    bare = await BenchChild.start('bare-http', settings);
    const barePort = await bare.serve(cached.body, replayed);
    const bareFirst = await requestOnce(HOST, barePort, request);
    if (!bareFirst.body.equals(cached.body)) throw new Error('the bare server does not send the same bytes');

    const sides: Record<Side, { child: Measured; port: number }> = {
      service: { child: service, port: servicePort },
      bare: { child: bare, port: barePort },
    };
    const load = (side: Side, durationMs: number) =>
      runLoad({
        host: HOST,
        ports: [sides[side].port],
        request: () => request,
        connections: options.connections,
        stop: { durationMs },
        expect: { status: 200, bodyLength: cached.body.length },
      });
    const before = await memoryComposition(service.pid, base);
    if (options.warmUpMs > 0) {
      progress(`${name}: warm-up, ${options.warmUpMs / 1000} s on each side`);
      await load('bare', options.warmUpMs);
      await load('service', options.warmUpMs);
    }

    const totals = { bare: emptyTotals(), service: emptyTotals() };
    const profiles: string[] = [];
    for (let round = 0; round < options.rounds; round += 1) {
      for (const side of orderOfRound<Side>(round, ['bare', 'service'])) {
        const { child } = sides[side];
        await child.windowStart();
        const result = await load(side, options.durationMs);
        const window = await child.windowEnd();
        if (window.profile !== undefined) profiles.push(`${side}: ${window.profile}`);
        const sum = totals[side];
        sum.requests += result.requests;
        sum.seconds += result.seconds;
        for (const latency of result.latenciesMs) sum.latenciesMs.push(latency); // too many for push(...spread)
        sum.cpuSeconds += window.cpuSeconds;
        sum.eventLoopBusySeconds =
          sum.eventLoopBusySeconds === null || window.eventLoopUtilization === null
            ? null
            : sum.eventLoopBusySeconds + window.eventLoopUtilization * window.seconds;
        sum.peakRssBytes = Math.max(sum.peakRssBytes, window.peakRssBytes);
        sum.endHeapUsedBytes = window.endHeapUsedBytes;
        sum.clientCpuSeconds += result.clientCpuSeconds;
        sum.rates.push(result.requests / result.seconds);
        progress(
          `${name}, round ${round + 1}/${options.rounds}: ${side} ${fixed(result.requests / result.seconds, 0)} req/s ` +
            `(load average ${loadAverage()})`,
        );
      }
    }
    const transformsAfter = await transformsMade(base);
    const memory = { before, after: await memoryComposition(service.pid, base) };
    const others = service.otherProcesses();

    progress(`${name}: the framework's floor (GET /healthz), one request at a time, and the GET's pieces`);
    await service.windowStart();
    const floorRun = await runLoad({
      host: HOST,
      ports: [servicePort],
      request: () => ({ path: '/healthz' }),
      connections: options.connections,
      stop: { durationMs: options.durationMs },
      expect: { status: 200 },
    });
    const floorWindow = await service.windowEnd();
    const sequential = async (side: Side) => {
      const run = await runLoad({
        host: HOST,
        ports: [sides[side].port],
        request: () => request,
        connections: 1,
        stop: { requests: SEQUENTIAL_REQUESTS },
        expect: { status: 200, bodyLength: cached.body.length },
      });
      return { meanMs: (run.seconds * 1000) / run.requests, p50Ms: quantile(run.latenciesMs, 0.5) };
    };
    const sequentialBare = await sequential('bare');
    const sequentialService = await sequential('service');
    const breakdown =
      service.breakdown === null
        ? null
        : await service.breakdown({ imageId: id, extension: options.format, query: options.query, iterations: BREAKDOWN_ITERATIONS });

    const meta = await sharp(cached.body).metadata();
    return {
      settings,
      layout,
      label: service.label,
      memory,
      totals,
      floor: {
        rate: floorRun.requests / floorRun.seconds,
        p50Ms: quantile(floorRun.latenciesMs, 0.5),
        cpuUsPerRequest: (floorWindow.cpuSeconds / floorRun.requests) * 1e6,
      },
      sequential: { bare: sequentialBare, service: sequentialService },
      breakdown,
      transformsMade: transformsAfter === null || transformsBefore === null ? null : transformsAfter - transformsBefore,
      lines: [
        `settings     ${service.settings}\n             ${settingsLine([bare])}`,
        `request      GET ${path}: ${meta.format} ${meta.width}x${meta.height}, ${cached.body.length} bytes; ` +
          `response head ${cached.headBytes} bytes from the service, ${bareFirst.headBytes} from the bare server`,
        ...others,
        ...profiles.map((profile) => `profile      ${profile}`),
      ],
    };
  } finally {
    await Promise.all([service.stop(), bare?.stop()]);
  }
}

function report(options: Options, runs: readonly ConfigRun[], started: Started, fixtureLine: string): string {
  const lines = [...machineLines(started.at), fixtureLine];
  const rows: string[][] = [];
  const targets: string[] = [];
  for (const run of runs) {
    lines.push(...run.lines);
    const bareRate = run.totals.bare.requests / run.totals.bare.seconds;
    for (const side of ['bare', 'service'] as const) {
      const totals = run.totals[side];
      const rate = totals.requests / totals.seconds;
      rows.push([
        `${layoutRunName(run.settings, run.layout)}: ${side === 'bare' ? 'bare node:http, from memory' : `${run.label}, cached GET`}`,
        String(totals.requests),
        fixed(totals.seconds, 1),
        fixed(rate, 0),
        fixed(quantile(totals.latenciesMs, 0.5), 1),
        fixed(quantile(totals.latenciesMs, 0.95), 1),
        fixed(quantile(totals.latenciesMs, 0.99), 1),
        megabytes(totals.peakRssBytes),
        fixed(totals.cpuSeconds / totals.seconds, 2),
        totals.eventLoopBusySeconds === null ? '—' : fixed(totals.eventLoopBusySeconds / totals.seconds, 2),
        fixed(totals.clientCpuSeconds / totals.seconds, 2),
        fixed((totals.cpuSeconds / totals.requests) * 1e6, 0),
        fixed(rate / bareRate, 2),
        fixed(run.totals.bare.cpuSeconds / run.totals.bare.requests / (totals.cpuSeconds / totals.requests), 2),
        totals.rates.map((value) => fixed(value, 0)).join(' / '),
      ]);
    }
    const service = run.totals.service;
    const ratio = service.requests / service.seconds / bareRate;
    lines.push(
      `transformations made by the service during the measured load: ` +
        `${run.transformsMade === null ? 'unknown' : String(run.transformsMade)}${run.transformsMade === 0 ? ' (every GET was a hit)' : ''}`,
    );
    lines.push(
      `framework floor: GET /healthz on the service at ${options.connections} connections, once after the rounds: ` +
        `${fixed(run.floor.rate, 0)} req/s, p50 ${fixed(run.floor.p50Ms, 1)} ms, ${fixed(run.floor.cpuUsPerRequest, 0)} µs of CPU per request ` +
        `(CPU ratio to the bare server ${fixed(run.totals.bare.cpuSeconds / run.totals.bare.requests / (run.floor.cpuUsPerRequest / 1e6), 2)})`,
      `one request at a time (${SEQUENTIAL_REQUESTS} on one connection): service mean ${fixed(run.sequential.service.meanMs, 3)} ms ` +
        `(p50 ${fixed(run.sequential.service.p50Ms, 3)}), bare mean ${fixed(run.sequential.bare.meanMs, 3)} ms (p50 ${fixed(run.sequential.bare.p50Ms, 3)})`,
      `the serving process's memory before the load (the upload and the one miss done): ${run.memory.before}`,
      `the serving process's memory at the end of the load: ${run.memory.after}`,
      ...(run.breakdown === null
        ? [
            "pieces of the service's GET: not timed (they are timed inside the bench's own service child; this layout's API process is not one)",
          ]
        : [
            `pieces of the service's GET, each alone, one call at a time (${BREAKDOWN_ITERATIONS} calls, in the service's process):`,
            formatTable(
              ['piece', 'wall µs', 'CPU µs'],
              run.breakdown.map((piece) => [piece.name, fixed(piece.wallUs, 0), fixed(piece.cpuUs, 0)]),
            ),
          ]),
    );
    const target = `target ${configName(run.settings)}, ${run.layout}`;
    targets.push(`${target}: ratio ${againstTarget(fixed(ratio, 2), String(options.target), ratio >= options.target, 'at least')}`);
    const rssMet = service.peakRssBytes <= RSS_TARGET_BYTES;
    targets.push(
      `${target}: the ${run.layout === 'distributed' ? 'API process' : 'service'}'s peak RSS under the load ` +
        `${againstTarget(`${megabytes(service.peakRssBytes)} MB`, `${megabytes(RSS_TARGET_BYTES)} MB`, rssMet, 'at most')} ` +
        `(V8 heap in use ${megabytes(service.endHeapUsedBytes)} MB; the bare server's peak RSS ${megabytes(run.totals.bare.peakRssBytes)} MB)`,
    );
  }
  lines.push(
    '',
    formatTable(
      [
        'setup',
        'requests',
        'seconds',
        'req/s',
        'p50 ms',
        'p95 ms',
        'p99 ms',
        'peak RSS MB',
        'CPUs used',
        'event loop',
        'client CPUs',
        'CPU µs/req',
        'ratio',
        'CPU ratio',
        'req/s by round',
      ],
      rows,
    ),
    '',
    `${options.connections} keep-alive connections, one request in flight on each; ${options.durationMs / 1000} s per side per round ` +
      `after ${options.warmUpMs / 1000} s of warm-up; the load generator is this process (bench/http-load.ts), the same for both sides.`,
    'latency: request written → last response byte. peak RSS: of the server process while it was measured (sampled every 50 ms).',
    "CPUs used: the server process's CPU time / wall time; event loop: its main thread's utilisation (—: a process the bench did not fork, " +
      "measured through /proc); client CPUs: the load generator's.",
    "ratio: req/s over the bare server's; CPU ratio: the bare server's CPU time per request over the side's, which a change in the " +
      "machine's load moves less than the rates.",
    ...reportTail(started, targets),
  );
  return lines.join('\n');
}

async function main(options: Options): Promise<void> {
  const started = startedNow();
  const fixture = await readFile(options.fixture);
  const metadata = await sharp(fixture).metadata();
  const fixtureLine =
    `fixture      ${options.fixture} (${metadata.format}, ${metadata.width}x${metadata.height}, ${fixture.length} bytes), ` +
    'uploaded once and processed to ready by the pipeline first';
  const runs: ConfigRun[] = [];
  for (const settings of options.configs) {
    for (const layout of options.layouts) runs.push(await runConfig(options, settings, layout, fixture));
  }
  console.log(report(options, runs, started, fixtureLine));
}

await runBenchmark(() => parseOptions(process.argv.slice(2)), USAGE, main);
