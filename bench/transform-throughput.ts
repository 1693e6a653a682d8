/**
 * `npm run bench:transform`: just-in-time transformations over HTTP, every
 * request a cache miss (POST /v1/transform: request data, never stored), next
 * to a bare sharp loop doing the same resize and encode in a process of its
 * own at the same concurrency, as a ratio. A report: it exits 0 whether or not
 * the target is met, and non-zero only when the run itself fails. See
 * docs/BENCHMARKS.md.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { BENCH_API_KEY, BenchChild, type ChildSettings, type WindowResult } from './child-process.ts';
import { prepareRequest, runLoad } from './http-load.ts';
import {
  configName,
  loadAverage,
  machineLines,
  megabytes,
  orderOfRound,
  parseShared,
  progress,
  settingsLine,
  SETTINGS_USAGE,
  SHARED_OPTIONS,
  UsageError,
  wholeNumber,
  type SharedOptions,
} from './side-options.ts';
import { fixed, formatTable, quantile } from './stats.ts';

const WIDTH = 720;
const HEIGHT = 588;
const QUALITY = 80;
const HOST = '127.0.0.1';
const PATH = `/v1/transform?w=${WIDTH}&h=${HEIGHT}&q=${QUALITY}&format=jpeg`;
const WARM_UP_REQUESTS = 4;

const USAGE = `Usage: npm run bench:transform -- [options]

  --requests N           requests per side, per round and per in-flight level (default 30)
  --in-flight LIST       requests (service) / operations (bare loop) at a time, comma-separated (default 2,8)
${SETTINGS_USAGE}

The target ratio (service req/s / bare sharp req/s) defaults to 0.85.`;

interface Options extends SharedOptions {
  readonly requests: number;
  readonly inFlight: readonly number[];
}

function parseOptions(argv: readonly string[]): Options | 'help' {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: { ...SHARED_OPTIONS, requests: { type: 'string' }, 'in-flight': { type: 'string' } },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new UsageError((error as Error).message, USAGE);
  }
  if (values.help === true) return 'help';
  const inFlight = (values['in-flight'] ?? '2,8').split(',').map((item) => wholeNumber('in-flight', item.trim(), 0, 1, USAGE));
  return {
    ...parseShared(values, 0.85, USAGE, 6),
    requests: wholeNumber('requests', values.requests, 30, 1, USAGE),
    inFlight: [...new Set(inFlight)],
  };
}

type Side = 'bare' | 'service';

interface Measurement {
  readonly requests: number;
  readonly seconds: number;
  readonly latenciesMs: readonly number[];
  readonly window: WindowResult;
  readonly clientCpuSeconds: number;
}

interface Totals {
  requests: number;
  seconds: number;
  latenciesMs: number[];
  cpuSeconds: number;
  peakRssBytes: number;
  clientCpuSeconds: number;
  rates: number[];
}

interface ConfigRun {
  readonly settings: ChildSettings;
  readonly settingsLine: string;
  readonly outputLine: string;
  readonly profiles: readonly string[];
  /** By in-flight level, then side. */
  readonly totals: ReadonlyMap<number, Readonly<Record<Side, Totals>>>;
}

const emptyTotals = (): Totals => ({ requests: 0, seconds: 0, latenciesMs: [], cpuSeconds: 0, peakRssBytes: 0, clientCpuSeconds: 0, rates: [] });

function add(totals: Totals, measurement: Measurement): void {
  totals.requests += measurement.requests;
  totals.seconds += measurement.seconds;
  for (const latency of measurement.latenciesMs) totals.latenciesMs.push(latency);
  totals.cpuSeconds += measurement.window.cpuSeconds;
  totals.peakRssBytes = Math.max(totals.peakRssBytes, measurement.window.peakRssBytes);
  totals.clientCpuSeconds += measurement.clientCpuSeconds;
  totals.rates.push(measurement.requests / measurement.seconds);
}

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex').slice(0, 16);

async function describeOutput(label: string, bytes: Uint8Array): Promise<string> {
  const meta = await sharp(bytes).metadata();
  return `${label} ${meta.format} ${meta.width}x${meta.height}, ${bytes.length} bytes, sha256 ${sha256(bytes)}`;
}

async function runConfig(options: Options, settings: ChildSettings, fixture: Buffer): Promise<ConfigRun> {
  progress(`${configName(settings)}: starting the service and the bare sharp processes`);
  const [service, bare] = await Promise.all([BenchChild.start('service', settings), BenchChild.start('bare-sharp', settings)]);
  try {
    const port = service.port;
    if (port === null) throw new Error('the service child has no port');
    const request = prepareRequest('POST', PATH, HOST, port, { body: { bytes: fixture, contentType: 'image/jpeg' }, apiKey: BENCH_API_KEY });
    const load = (inFlight: number, requests: number) =>
      runLoad({ host: HOST, port, request, connections: inFlight, stop: { requests }, expect: { status: 200 } });
    const loop = (inFlight: number, count: number) =>
      bare.sharpLoop({ fixture: options.fixture, width: WIDTH, height: HEIGHT, quality: QUALITY, count, concurrency: inFlight });

    // Untimed: start-up, first decode, first encode, in both processes.
    const warmService = await load(2, WARM_UP_REQUESTS);
    const warmBare = await loop(2, WARM_UP_REQUESTS);
    const serviceBody = warmService.first.body ?? Buffer.alloc(0);
    const same = sha256(serviceBody) === sha256(warmBare.output);
    const outputLine = `output       ${same ? 'identical on both sides' : 'DIFFERS'}: ${await describeOutput('service', serviceBody)}` +
      (same ? '' : `; ${await describeOutput('bare loop', warmBare.output)}`);

    const measure = async (side: Side, inFlight: number): Promise<Measurement> => {
      const child = side === 'service' ? service : bare;
      await child.windowStart();
      if (side === 'service') {
        const result = await load(inFlight, options.requests);
        return { ...result, window: await child.windowEnd() };
      }
      const result = await loop(inFlight, options.requests);
      return { requests: options.requests, seconds: result.seconds, latenciesMs: result.latenciesMs, window: await child.windowEnd(), clientCpuSeconds: 0 };
    };

    const totals = new Map<number, Record<Side, Totals>>();
    const profiles: string[] = [];
    for (const inFlight of options.inFlight) {
      const level = { bare: emptyTotals(), service: emptyTotals() };
      totals.set(inFlight, level);
      for (let round = 0; round < options.rounds; round += 1) {
        for (const side of orderOfRound<Side>(round, ['bare', 'service'])) {
          const measurement = await measure(side, inFlight);
          add(level[side], measurement);
          if (measurement.window.profile !== undefined) profiles.push(`${side}, ${inFlight} in flight: ${measurement.window.profile}`);
          progress(`${configName(settings)}, ${inFlight} in flight, round ${round + 1}/${options.rounds}: ${side} ` +
            `${fixed(measurement.requests / measurement.seconds, 2)} req/s (load average ${loadAverage()})`);
        }
      }
    }
    return { settings, settingsLine: `settings     ${settingsLine([service, bare])}`, outputLine, profiles, totals };
  } finally {
    await Promise.all([service.stop(), bare.stop()]);
  }
}

function clientLine(runs: readonly ConfigRun[]): string {
  let cpu = 0;
  let seconds = 0;
  for (const run of runs) {
    for (const level of run.totals.values()) {
      cpu += level.service.clientCpuSeconds;
      seconds += level.service.seconds;
    }
  }
  return `${fixed(cpu / seconds, 2)} CPUs while the service was measured`;
}

function report(options: Options, runs: readonly ConfigRun[], started: { at: Date; load: string }, fixtureLine: string): string {
  const lines = [
    ...machineLines(started.at),
    fixtureLine,
    `work         ${WIDTH}x${HEIGHT} (fit cover), JPEG q${QUALITY} with the delivery profile's encoder settings (mozjpeg); ` +
      `service: POST ${PATH} with the image as a raw body (never stored: every request a miss; scanning off)`,
  ];
  const rows: string[][] = [];
  const targets: string[] = [];
  for (const run of runs) {
    lines.push(run.settingsLine, run.outputLine, ...run.profiles.map((profile) => `profile      ${profile}`));
    for (const [inFlight, level] of run.totals) {
      const bareRate = level.bare.requests / level.bare.seconds;
      for (const side of ['bare', 'service'] as const) {
        const totals = level[side];
        const rate = totals.requests / totals.seconds;
        rows.push([
          `${configName(run.settings)}: ${side === 'bare' ? 'bare sharp loop' : 'service, POST /v1/transform'}`,
          String(inFlight),
          String(totals.requests),
          fixed(totals.seconds, 1),
          fixed(rate, 2),
          fixed(quantile(totals.latenciesMs, 0.5), 0),
          fixed(quantile(totals.latenciesMs, 0.95), 0),
          fixed(quantile(totals.latenciesMs, 0.99), 0),
          megabytes(totals.peakRssBytes),
          fixed(totals.cpuSeconds / totals.seconds, 2),
          fixed((totals.cpuSeconds / totals.requests) * 1000, 0),
          fixed(rate / bareRate, 2),
          fixed(level.bare.cpuSeconds / level.bare.requests / (totals.cpuSeconds / totals.requests), 2),
          totals.rates.map((value) => fixed(value, 2)).join(' / '),
        ]);
      }
      const ratio = level.service.requests / level.service.seconds / bareRate;
      targets.push(`target ${configName(run.settings)}, ${inFlight} in flight: ratio ${fixed(ratio, 2)} ${ratio >= options.target ? '≥' : '<'} ` +
        `${options.target} → ${ratio >= options.target ? 'MET' : 'NOT MET'}`);
    }
  }
  lines.push(
    '',
    formatTable(
      ['setup', 'in flight', 'requests', 'seconds', 'req/s', 'p50 ms', 'p95 ms', 'p99 ms', 'peak RSS MB', 'CPUs used', 'CPU ms/req', 'ratio',
        'CPU ratio', 'req/s by round'],
      rows,
    ),
    '',
    'latency: service = request written → last response byte (client in the parent process); bare = operation queued → done.',
    'peak RSS: of that side\'s process while it was measured (sampled every 50 ms); CPUs used: its CPU time / wall time.',
    'ratio: req/s over the bare loop\'s; CPU ratio: the bare loop\'s CPU time per operation over the side\'s per request, which a ' +
      'change in the machine\'s load moves less than the rates.',
    `client (this process, sending the requests): ${clientLine(runs)}.`,
    `Load average (1 min) at start ${started.load}, at end ${loadAverage()}.`,
  );
  if (runs.length > 1) {
    for (const inFlight of options.inFlight) {
      const rates = runs.map((run) => {
        const service = run.totals.get(inFlight)?.service;
        return `${configName(run.settings)} ${service === undefined ? '-' : fixed(service.requests / service.seconds, 2)} req/s, ` +
          `${service === undefined ? '-' : megabytes(service.peakRssBytes)} MB`;
      });
      lines.push(`service at ${inFlight} in flight by allocator: ${rates.join('; ')}`);
    }
  }
  lines.push('', ...targets);
  return lines.join('\n');
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  if (options === 'help') {
    console.log(USAGE);
    return;
  }
  const started = { at: new Date(), load: loadAverage() };
  const fixture = await readFile(options.fixture);
  const metadata = await sharp(fixture).metadata();
  const fixtureLine = `fixture      ${options.fixture} (${metadata.format}, ${metadata.width}x${metadata.height}, ${fixture.length} bytes)`;
  const runs: ConfigRun[] = [];
  for (const settings of options.configs) runs.push(await runConfig(options, settings, fixture));
  console.log(report(options, runs, started, fixtureLine));
}

try {
  await main();
} catch (error) {
  console.error(error instanceof UsageError ? error.message : error);
  process.exitCode = error instanceof UsageError ? 64 : 1;
}
