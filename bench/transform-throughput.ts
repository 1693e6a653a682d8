/**
 * `npm run bench:transform`: just-in-time transformations over HTTP, every
 * request a cache miss — on request data (POST /v1/transform) and on a stored
 * image (GET /v1/images/ID.jpg?w=…&h=…&q=80, a size not asked for before) —
 * next to the limit, a bare sharp + libjpeg-turbo loop doing the same resize
 * and encode in a process of its own at the same concurrency, and a bare
 * mozjpeg loop for reference. Where the layout scans request data (the
 * distributed one, with clamd), a second limit scans each input with a bare
 * clamd INSTREAM before the same resize and encode: what scanning costs any
 * server, so that the ratio to it is what ProgImage's own code costs. With
 * `--others`, other image servers (imaginary, thumbor) do the same work beside
 * them. Rates as ratios to the limit, each side's bytes and quality (SSIM,
 * PSNR against a lossless reference) beside them. A report: it exits 0
 * whether or not the targets are met, and non-zero only when the run itself
 * fails. See docs/BENCHMARKS.md.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { BENCH_API_KEY, BenchChild, type ChildSettings } from './child-process.ts';
import { parseCommandLine, runBenchmark, UsageError, wholeNumber } from './command-line.ts';
import { authenticated, requestOnce, runLoad, type LoadRequest } from './load-run.ts';
import { measureQuality, rgbPixels, type Quality, type RgbPixels } from './image-quality.ts';
import { LAYOUT_OPTIONS, LAYOUT_USAGE, layoutRunName, parseLayouts, startLayoutService, type LayoutOptions } from './layout-options.ts';
import type { Layout, ScanningClamd, ServedWindow } from './layout-service.ts';
import {
  loadAverage,
  machineLines,
  megabytes,
  orderOfRound,
  parseShared,
  progress,
  settingsLine,
  reportTail,
  SETTINGS_USAGE,
  SHARED_OPTIONS,
  startedNow,
  type SharedOptions,
  type Started,
} from './side-options.ts';
import { ProcessWindow } from './process-stats.ts';
import { HEIGHT, sizeAt, WIDTH } from './request-sizes.ts';
import { isOtherServer, OTHER_SERVERS, startOtherServer, type OtherServerName } from './other-servers.ts';
import type { OtherServer, TransformWork } from './server-process.ts';
import { againstTarget, fixed, formatTable, quantile } from './stats.ts';

const QUALITY = 80;
const HOST = '127.0.0.1';
const WARM_UP_REQUESTS = 4;
/** Stored-image misses must be within 10% of request data's rate. */
const STORED_TO_REQUEST_TARGET = 0.9;

const USAGE = `Usage: npm run bench:transform -- [options]

  --requests N           requests per side, per round and per in-flight level (default 30)
  --in-flight LIST       requests (service) / operations (bare loops) at a time, comma-separated (default 2,8)
  --others LIST          also measure other image servers doing the same work, comma-separated: ${OTHER_SERVERS.join(', ')}
                         (installed on first use: imaginary built with Go against libvips-dev, thumbor from PyPI)
${LAYOUT_USAGE}
${SETTINGS_USAGE}

The target ratio (service req/s / bare sharp + libjpeg-turbo req/s) defaults to 0.9. Where the layout scans
request data (distributed), a second limit sends each input to the same clamd first (one INSTREAM), and request
data is also given as a ratio to it.`;

interface Options extends SharedOptions, LayoutOptions {
  readonly requests: number;
  readonly inFlight: readonly number[];
  readonly others: readonly OtherServerName[];
}

function parseOthers(list: string | undefined): OtherServerName[] {
  const names = (list ?? '')
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
  const unknown = names.filter((name) => !isOtherServer(name));
  if (unknown.length > 0) throw new UsageError(`--others: ${unknown.join(', ')}: not one of ${OTHER_SERVERS.join(', ')}`, USAGE);
  return [...new Set(names.filter(isOtherServer))];
}

function parseOptions(argv: readonly string[]): Options | 'help' {
  const values = parseCommandLine(
    argv,
    { ...SHARED_OPTIONS, ...LAYOUT_OPTIONS, requests: { type: 'string' }, 'in-flight': { type: 'string' }, others: { type: 'string' } },
    USAGE,
  );
  if (values === 'help') return 'help';
  const inFlight = (values['in-flight'] ?? '2,8').split(',').map((item) => wholeNumber('in-flight', item.trim(), 0, 1, USAGE));
  return {
    ...parseShared(values, 0.9, USAGE, 6),
    requests: wholeNumber('requests', values.requests, 30, 1, USAGE),
    inFlight: [...new Set(inFlight)],
    others: parseOthers(values.others),
    ...parseLayouts(values, USAGE),
  };
}

type Side = 'bare' | 'scanned' | 'mozjpeg' | 'request' | 'stored' | OtherServerName;
type BareSide = Extract<Side, 'bare' | 'scanned' | 'mozjpeg'>;

const isBare = (side: Side): side is BareSide => side === 'bare' || side === 'scanned' || side === 'mozjpeg';

/** The sides of a run: the limit with the scan only where the layout scans request data, then the other servers asked for. */
const sidesOf = (scans: boolean, others: readonly OtherServerName[]): readonly Side[] => [
  'bare',
  ...(scans ? (['scanned'] as const) : []),
  'mozjpeg',
  'request',
  'stored',
  ...others,
];

/** `service`: what serves the requests in the run's layout (LayoutService.label). */
const sideName = (side: Exclude<Side, OtherServerName>, service: string): string =>
  ({
    bare: 'bare sharp + libjpeg-turbo (the limit)',
    scanned: 'bare clamd INSTREAM, then the limit (the limit with the scan)',
    mozjpeg: 'bare sharp + mozjpeg',
    request: `${service}, POST /v1/transform (request data)`,
    stored: `${service}, GET /v1/images/ID.jpg (stored, miss)`,
  })[side];

const query = ([width, height]: readonly [number, number]): string => `w=${width}&h=${height}&q=${QUALITY}`;

interface Measurement {
  readonly requests: number;
  readonly seconds: number;
  readonly latenciesMs: readonly number[];
  readonly window: Pick<ServedWindow, 'cpuSeconds' | 'peakRssBytes' | 'profile'>;
  /** clamd's CPU time over the window, where the side scans and clamd's pid is known. */
  readonly clamdCpuSeconds: number | null;
}

interface Totals {
  requests: number;
  seconds: number;
  latenciesMs: number[];
  cpuSeconds: number;
  clamdCpuSeconds: number | null;
  peakRssBytes: number;
  rates: number[];
}

interface Output {
  readonly bytes: number;
  readonly sha256: string;
  readonly quality: Quality;
}

interface ConfigRun {
  readonly settings: ChildSettings;
  readonly layout: Layout;
  readonly settingsLine: string;
  readonly sides: readonly Side[];
  /** The clamd request data was scanned with (null: scanning off). */
  readonly clamd: ScanningClamd | null;
  /** Each side's name in the report (the other servers give theirs), and how the other servers ran. */
  readonly names: ReadonlyMap<Side, string>;
  readonly othersAbout: readonly string[];
  readonly outputs: ReadonlyMap<Side, Output>;
  readonly profiles: readonly string[];
  /** By in-flight level, then side. */
  readonly totals: ReadonlyMap<number, ReadonlyMap<Side, Totals>>;
  readonly clientCpuSeconds: number;
  readonly serviceSeconds: number;
}

const emptyTotals = (): Totals => ({
  requests: 0,
  seconds: 0,
  latenciesMs: [],
  cpuSeconds: 0,
  clamdCpuSeconds: null,
  peakRssBytes: 0,
  rates: [],
});

function add(totals: Totals, measurement: Measurement): void {
  totals.requests += measurement.requests;
  totals.seconds += measurement.seconds;
  for (const latency of measurement.latenciesMs) totals.latenciesMs.push(latency);
  totals.cpuSeconds += measurement.window.cpuSeconds;
  if (measurement.clamdCpuSeconds !== null) totals.clamdCpuSeconds = (totals.clamdCpuSeconds ?? 0) + measurement.clamdCpuSeconds;
  totals.peakRssBytes = Math.max(totals.peakRssBytes, measurement.window.peakRssBytes);
  totals.rates.push(measurement.requests / measurement.seconds);
}

const rateOf = (totals: Totals): number => totals.requests / totals.seconds;
const cpuPerRequest = (totals: Totals): number => totals.cpuSeconds / totals.requests;
const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex').slice(0, 16);

/** A side's entry in a run's map of sides: every side of the run has one. */
function ofSide<T>(bySide: ReadonlyMap<Side, T>, side: Side): T {
  const found = bySide.get(side);
  if (found === undefined) throw new Error(`no ${side} side in this run`);
  return found;
}

async function runConfig(
  options: Options,
  settings: ChildSettings,
  layout: Layout,
  fixture: Buffer,
  reference: RgbPixels,
): Promise<ConfigRun> {
  const name = layoutRunName(settings, layout);
  progress(`${name}: starting the service and the bare sharp processes; uploading the fixture and waiting until it is ready`);
  const work = { fixturePath: options.fixture, fixture, quality: QUALITY };
  const [started, bareStarted, othersStarted] = await Promise.allSettled([
    startLayoutService(layout, settings, options.copies),
    BenchChild.start('bare-sharp', settings),
    startOthers(options.others, work),
  ]);
  // A side that started is stopped when another could not (the distributed layout is a dozen processes).
  if (started.status === 'rejected' || bareStarted.status === 'rejected' || othersStarted.status === 'rejected') {
    if (started.status === 'fulfilled') await started.value.stop();
    if (bareStarted.status === 'fulfilled') await bareStarted.value.stop();
    if (othersStarted.status === 'fulfilled') await stopOthers(othersStarted.value);
    throw [started, bareStarted, othersStarted].find((result) => result.status === 'rejected')?.reason;
  }
  const service = started.value;
  const bare = bareStarted.value;
  const others = othersStarted.value;
  const sides = sidesOf(service.clamd !== null, options.others);
  const names = new Map(sides.map((side) => [side, isOtherServer(side) ? ofSide(others, side).label : sideName(side, service.label)]));
  const clamdAddress = service.clamd?.address ?? null;
  const clamdPid = service.clamd?.pid ?? null;
  try {
    const portsOf = (side: Exclude<Side, BareSide>): readonly [number, ...number[]] =>
      isOtherServer(side) ? ofSide(others, side).ports : [service.port];
    const id = await service.uploadReady(fixture, 'image/jpeg');
    const requestOf = (side: Exclude<Side, BareSide>, size: readonly [number, number]): LoadRequest =>
      isOtherServer(side)
        ? ofSide(others, side).request(size)
        : side === 'request'
          ? {
              method: 'POST',
              path: `/v1/transform?${query(size)}&format=jpeg`,
              headers: authenticated(BENCH_API_KEY, 'image/jpeg'),
              body: fixture,
            }
          : { path: `/v1/images/${id}.jpg?${query(size)}`, headers: authenticated(BENCH_API_KEY) };

    let clientCpuSeconds = 0;
    let serviceSeconds = 0;
    /** Requests or operations `from` … `from + count - 1`, `inFlight` at a time. */
    const loopOf = (side: BareSide, sizes: readonly (readonly [number, number])[], concurrency: number) =>
      bare.sharpLoop({
        fixture: options.fixture,
        sizes,
        quality: QUALITY,
        mozjpeg: side === 'mozjpeg',
        concurrency,
        clamd: side === 'scanned' ? clamdAddress : null,
      });
    const run = async (
      side: Side,
      from: number,
      count: number,
      inFlight: number,
    ): Promise<Omit<Measurement, 'window' | 'clamdCpuSeconds'>> => {
      if (isBare(side)) {
        const sizes = Array.from({ length: count }, (_, index) => sizeAt(from + index));
        const result = await loopOf(side, sizes, inFlight);
        return { requests: count, seconds: result.seconds, latenciesMs: result.latenciesMs };
      }
      const result = await runLoad({
        host: HOST,
        ports: portsOf(side),
        request: (index) => requestOf(side, sizeAt(from + index)),
        connections: inFlight,
        stop: { requests: count },
        expect: { status: 200 },
      });
      if (!isOtherServer(side)) {
        clientCpuSeconds += result.clientCpuSeconds;
        serviceSeconds += result.seconds;
      }
      return result;
    };

    // Untimed: each side's 720x588 output, for its bytes and quality; then warm-up (start-up, first decode and encode).
    const outputOf = async (side: Side): Promise<Buffer> => {
      if (isBare(side)) return Buffer.from((await loopOf(side, [sizeAt(0)], 1)).output);
      const response = await requestOnce(HOST, portsOf(side)[0], requestOf(side, sizeAt(0)));
      if (response.status !== 200) throw new Error(`${ofSide(names, side)}: answered ${response.status}`);
      return response.body;
    };
    const sample = async (side: Side): Promise<Output> => {
      const bytes = await outputOf(side);
      await run(side, 1, WARM_UP_REQUESTS, 2);
      return { bytes: bytes.length, sha256: sha256(bytes), quality: await measureQuality(reference, bytes) };
    };
    const outputs = new Map<Side, Output>();
    for (const side of sides) outputs.set(side, await sample(side));
    clientCpuSeconds = 0;
    serviceSeconds = 0;

    const totals = new Map<number, Map<Side, Totals>>();
    const profiles: string[] = [];
    for (const [levelIndex, inFlight] of options.inFlight.entries()) {
      const level = new Map(sides.map((side) => [side, emptyTotals()]));
      totals.set(inFlight, level);
      for (let round = 0; round < options.rounds; round += 1) {
        // The same sizes for every side in a round (sizeAt(0), 720x588, gave each side's reported output).
        const from = 1 + WARM_UP_REQUESTS + (levelIndex * options.rounds + round) * options.requests;
        for (const side of orderOfRound<Side>(round, sides)) {
          const measured = isBare(side) ? bare : isOtherServer(side) ? ofSide(others, side) : service;
          // clamd's CPU where the side scans: the limit with the scan, and request data.
          const clamdWindow = clamdPid !== null && (side === 'scanned' || side === 'request') ? new ProcessWindow(clamdPid) : null;
          await measured.windowStart();
          clamdWindow?.start();
          const result = await run(side, from, options.requests, inFlight);
          const clamdCpuSeconds = clamdWindow?.end().cpuSeconds ?? null;
          const measurement: Measurement = { ...result, window: await measured.windowEnd(), clamdCpuSeconds };
          add(ofSide(level, side), measurement);
          if (measurement.window.profile !== undefined) profiles.push(`${side}, ${inFlight} in flight: ${measurement.window.profile}`);
          progress(
            `${name}, ${inFlight} in flight, round ${round + 1}/${options.rounds}: ${side} ` +
              `${fixed(measurement.requests / measurement.seconds, 2)} req/s (load average ${loadAverage()})`,
          );
        }
      }
    }
    return {
      settings,
      layout,
      settingsLine: `settings     ${service.settings}\n             ${settingsLine([bare])}`,
      sides,
      clamd: service.clamd,
      names,
      othersAbout: [...others.values()].map((other) => other.about),
      outputs,
      profiles,
      totals,
      clientCpuSeconds,
      serviceSeconds,
    };
  } finally {
    await Promise.all([service.stop(), bare.stop(), stopOthers(others)]);
  }
}

/** The other servers asked for, started together; those that started are stopped when one could not. */
async function startOthers(names: readonly OtherServerName[], work: TransformWork): Promise<Map<OtherServerName, OtherServer>> {
  const started = await Promise.allSettled(names.map(async (name) => [name, await startOtherServer(name, work)] as const));
  const running = new Map(started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : [])));
  const failed = started.find((result) => result.status === 'rejected');
  if (failed === undefined) return running;
  await stopOthers(running);
  throw failed.reason;
}

const stopOthers = async (others: ReadonlyMap<OtherServerName, OtherServer>): Promise<void> => {
  await Promise.all([...others.values()].map((other) => other.stop()));
};

/** Equal or better than the limit's, to the digits the report prints. */
const qualityAtLeast = (side: Quality, limit: Quality): boolean =>
  Number(side.ssim.toFixed(4)) >= Number(limit.ssim.toFixed(4)) && Number(side.psnrDb.toFixed(2)) >= Number(limit.psnrDb.toFixed(2));

const sideWork = (side: 'request' | 'stored'): string => (side === 'request' ? 'request data' : 'stored-image miss');

function targetLines(options: Options, run: ConfigRun): string[] {
  const name = layoutRunName(run.settings, run.layout);
  const lines: string[] = [];
  const ratioLine = (what: string, ratio: number): string =>
    `target ${name}, ${what}: ratio ${againstTarget(fixed(ratio, 2), String(options.target), ratio >= options.target, 'at least')}`;
  for (const [inFlight, level] of run.totals) {
    const rate = (side: Side): number => rateOf(ofSide(level, side));
    for (const side of ['request', 'stored'] as const)
      lines.push(ratioLine(`${inFlight} in flight, ${sideWork(side)}`, rate(side) / rate('bare')));
    if (level.has('scanned')) {
      lines.push(ratioLine(`${inFlight} in flight, request data against the limit with the scan`, rate('request') / rate('scanned')));
    }
    const storedToRequest = rate('stored') / rate('request');
    lines.push(
      `target ${name}, ${inFlight} in flight, stored-image miss within 10% of request data: ` +
        againstTarget(fixed(storedToRequest, 2), String(STORED_TO_REQUEST_TARGET), storedToRequest >= STORED_TO_REQUEST_TARGET, 'at least'),
    );
  }
  const limit = ofSide(run.outputs, 'bare').quality;
  for (const side of ['request', 'stored'] as const) {
    const { quality } = ofSide(run.outputs, side);
    lines.push(
      `target ${name}, ${sideWork(side)} quality equal or better than the limit's: ` +
        `SSIM ${fixed(quality.ssim, 4)} vs ${fixed(limit.ssim, 4)}, PSNR ${fixed(quality.psnrDb, 2)} vs ` +
        `${fixed(limit.psnrDb, 2)} dB → ${qualityAtLeast(quality, limit) ? 'MET' : 'NOT MET'}`,
    );
  }
  return lines;
}

/** How a run's request data was scanned, and what clamd's CPU time per scan was where the bench could read it. */
function scanningLines(run: ConfigRun): string[] {
  const name = layoutRunName(run.settings, run.layout);
  if (run.clamd === null) return [`scanning     ${name}: off`];
  const { address, pid } = run.clamd;
  const lines = [
    `scanning     ${name}: request data is scanned by clamd at ${address.host}:${address.port} before it is decoded; ` +
      'the limit with the scan sends each input there first (one INSTREAM on a connection of its own)',
  ];
  if (pid === null) return [...lines, `             clamd's CPU time: not measured (not the local stack's clamd)`];
  for (const [inFlight, level] of run.totals) {
    const perScan = (side: Side): string => {
      const totals = ofSide(level, side);
      return totals.clamdCpuSeconds === null ? '?' : fixed((totals.clamdCpuSeconds / totals.requests) * 1000, 1);
    };
    lines.push(
      `             clamd (pid ${pid}), ${inFlight} in flight: ${perScan('scanned')} ms of CPU per scan for the limit with the scan, ` +
        `${perScan('request')} per request of request data`,
    );
  }
  return lines;
}

function report(options: Options, runs: readonly ConfigRun[], started: Started, fixtureLine: string): string {
  const lines = [
    ...machineLines(started.at),
    fixtureLine,
    `work         resize (fit cover) to ${WIDTH}x${HEIGHT}, then each request a pixel or so smaller (every stored-image request a miss), ` +
      `JPEG q${QUALITY}; the same sizes on every side in each round`,
  ];
  const rows: string[][] = [];
  const outputRows: string[][] = [];
  const targets: string[] = [];
  for (const run of runs) {
    const name = layoutRunName(run.settings, run.layout);
    lines.push(run.settingsLine, ...scanningLines(run), ...run.profiles.map((profile) => `profile      ${profile}`));
    for (const side of run.sides) {
      const { bytes, sha256: hash, quality } = ofSide(run.outputs, side);
      outputRows.push([`${name}: ${ofSide(run.names, side)}`, String(bytes), fixed(quality.ssim, 4), fixed(quality.psnrDb, 2), hash]);
    }
    for (const [inFlight, level] of run.totals) {
      const limit = ofSide(level, 'bare');
      for (const side of run.sides) {
        const totals = ofSide(level, side);
        const { bytes, quality } = ofSide(run.outputs, side);
        rows.push([
          `${name}: ${ofSide(run.names, side)}`,
          String(inFlight),
          String(totals.requests),
          fixed(rateOf(totals), 2),
          fixed(quantile(totals.latenciesMs, 0.5), 0),
          fixed(quantile(totals.latenciesMs, 0.95), 0),
          megabytes(totals.peakRssBytes),
          fixed(totals.cpuSeconds / totals.seconds, 2),
          fixed(cpuPerRequest(totals) * 1000, 0),
          fixed(rateOf(totals) / rateOf(limit), 2),
          fixed(cpuPerRequest(limit) / cpuPerRequest(totals), 2),
          String(bytes),
          fixed(quality.ssim, 4),
          fixed(quality.psnrDb, 2),
          totals.rates.map((value) => fixed(value, 1)).join(' / '),
        ]);
      }
    }
    targets.push(...targetLines(options, run));
  }
  const clientCpu = runs.reduce((sum, run) => sum + run.clientCpuSeconds, 0) / runs.reduce((sum, run) => sum + run.serviceSeconds, 0);
  lines.push(
    '',
    formatTable(
      [
        'setup',
        'in flight',
        'requests',
        'req/s',
        'p50 ms',
        'p95 ms',
        'peak RSS MB',
        'CPUs used',
        'CPU ms/req',
        'ratio',
        'CPU ratio',
        'bytes',
        'SSIM',
        'PSNR dB',
        'req/s by round',
      ],
      rows,
    ),
    '',
    formatTable(['720x588 output', 'bytes', 'SSIM', 'PSNR dB', 'sha256'], outputRows),
    '',
    'latency: service = request written → last response byte (client in the parent process); bare = operation queued → done.',
    "peak RSS: of that side's process while it was measured (sampled every 50 ms); CPUs used: its CPU time / wall time.",
    ...(runs.some((run) => run.layout === 'distributed')
      ? [
          'distributed: the API process alone is measured for peak RSS and CPU; the master it reads and the result it stores cost MinIO ' +
            'and FerretDB CPU besides, which the rates include and the CPU columns do not.',
        ]
      : []),
    ...new Set(runs.flatMap((run) => run.othersAbout)),
    ...(runs.some((run) => run.clamd !== null)
      ? ["scanning: clamd's CPU time is in no CPU column (its own line above); the rates include it, on both sides that scan."]
      : []),
    "ratio: req/s over the limit's; CPU ratio: the limit's CPU time per operation over the side's per request, which a change in " +
      "the machine's load moves less than the rates.",
    `quality: of each side's ${WIDTH}x${HEIGHT} output against sharp's lossless resize of the fixture to ${WIDTH}x${HEIGHT}: ` +
      'SSIM on luma (11x11 Gaussian window), PSNR over R, G and B.',
    `client (this process, sending the requests): ${fixed(clientCpu, 2)} CPUs while the service was measured.`,
    ...reportTail(started, targets),
  );
  return lines.join('\n');
}

async function main(options: Options): Promise<void> {
  const started = startedNow();
  const fixture = await readFile(options.fixture);
  const metadata = await sharp(fixture).metadata();
  const fixtureLine = `fixture      ${options.fixture} (${metadata.format}, ${metadata.width}x${metadata.height}, ${fixture.length} bytes)`;
  const reference = await rgbPixels(sharp(fixture).rotate().resize(WIDTH, HEIGHT));
  const runs: ConfigRun[] = [];
  for (const settings of options.configs) {
    for (const layout of options.layouts) runs.push(await runConfig(options, settings, layout, fixture, reference));
  }
  console.log(report(options, runs, started, fixtureLine));
}

await runBenchmark(() => parseOptions(process.argv.slice(2)), USAGE, main);
