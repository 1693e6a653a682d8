/**
 * `npm run bench:soak`: the service's memory over a long mixed load — 10,000
 * requests by default: transformations of request data, transformations of a
 * stored image that are all misses, and cached derived images — its RSS
 * sampled through every thousand requests. Targets: peak RSS within 250 MB,
 * and no growth once the caches are full (the second half against the
 * first). A report: it exits 0 whether or not the targets are met, and
 * non-zero only when the run itself fails. See docs/BENCHMARKS.md.
 */
import { readFile } from 'node:fs/promises';
import { BENCH_API_KEY, BenchChild, type ChildSettings, type WindowResult } from './child-process.ts';
import { parseCommandLine, runBenchmark, UsageError, wholeNumber } from './command-line.ts';
import { authenticated, requestOnce, runLoad, type LoadRequest } from './load-run.ts';
import { DISTINCT_SIZES, sizeAt } from './request-sizes.ts';
import {
  configName,
  loadAverage,
  machineLines,
  megabytes,
  parseShared,
  progress,
  RSS_TARGET_BYTES,
  settingsLine,
  PROCESS_USAGE,
  reportTail,
  SHARED_OPTIONS,
  startedNow,
  type SharedOptions,
  type Started,
} from './side-options.ts';
import { againstTarget, fixed, formatTable, mean } from './stats.ts';
import { uploadReady } from './upload-ready.ts';

const HOST = '127.0.0.1';
/** RSS moves by a few MB as the allocator keeps and returns pages: more than this over the second half is growth. */
const GROWTH_TOLERANCE = 0.05;
/** Cached derived images the mix asks for: made once before the soak, hits afterwards. */
const HITS = ['webp?w=400', 'jpg?w=200', 'png?w=100', 'avif?w=300', 'jpg'];

/**
 * What request number `index` of the soak is, in every 20: 4 transformations
 * of request data, 5 of the stored image at a size not asked for before (a
 * miss: made, stored, cached), 11 cached images.
 */
type Kind = 'request' | 'stored' | 'hit';
function kindOf(index: number): Kind {
  const slot = index % 20;
  if (slot < 4) return 'request';
  return slot < 9 ? 'stored' : 'hit';
}

const { rounds: _rounds, target: _target, ...SOAK_SETTINGS } = SHARED_OPTIONS;

const USAGE = `Usage: npm run bench:soak -- [options]

  --requests N           requests in all (default 10000)
  --chunk N              requests between two memory readings (default 1000)
  --connections N        keep-alive connections, each with one request in flight (default 8)
${PROCESS_USAGE}

Mix, in every 20 requests: 4 POST /v1/transform (request data), 5 GET of the stored image at a size not asked
for before (misses), 11 GET of ${HITS.length} cached derived images.`;

interface Options extends SharedOptions {
  readonly requests: number;
  readonly chunk: number;
  readonly connections: number;
}

function parseOptions(argv: readonly string[]): Options | 'help' {
  const values = parseCommandLine(
    argv,
    { ...SOAK_SETTINGS, requests: { type: 'string' }, chunk: { type: 'string' }, connections: { type: 'string' } },
    USAGE,
  );
  if (values === 'help') return 'help';
  const requests = wholeNumber('requests', values.requests, 10_000, 2, USAGE);
  const chunk = wholeNumber('chunk', values.chunk, 1000, 1, USAGE);
  if (requests % chunk !== 0 || requests / chunk < 2) throw new UsageError('--requests: a whole number of chunks, at least 2', USAGE);
  return { ...parseShared(values, 1, USAGE, 1), requests, chunk, connections: wholeNumber('connections', values.connections, 8, 1, USAGE) };
}

interface Chunk {
  readonly done: number;
  readonly rate: number;
  readonly window: WindowResult;
}

interface SoakRun {
  readonly settings: ChildSettings;
  readonly settingsLine: string;
  readonly startRssBytes: number;
  readonly chunks: readonly Chunk[];
}

async function runConfig(options: Options, settings: ChildSettings, fixture: Buffer): Promise<SoakRun> {
  const name = configName(settings);
  progress(`${name}: starting the service; uploading the fixture and waiting until it is ready`);
  const service = await BenchChild.start('service', settings);
  try {
    const port = service.port;
    if (port === null) throw new Error('the service child has no port');
    const id = await uploadReady(`http://${HOST}:${port}`, fixture, 'image/jpeg', BENCH_API_KEY);
    const get = (path: string): LoadRequest => ({ path: `/v1/images/${id}.${path}`, headers: authenticated(BENCH_API_KEY) });
    const hits = HITS.map(get);
    for (const hit of hits) {
      const response = await requestOnce(HOST, port, hit);
      if (response.status !== 200) throw new Error(`priming a cached image answered ${response.status}`);
    }
    const requestAt = (index: number): LoadRequest => {
      const [width, height] = sizeAt(index % DISTINCT_SIZES);
      // Once every size near 720x588 was asked for, the next quality down makes each stored-image URL new again.
      const quality = 80 - Math.floor(index / DISTINCT_SIZES);
      switch (kindOf(index)) {
        case 'request':
          return {
            method: 'POST',
            path: `/v1/transform?w=${width}&h=${height}&q=${quality}&format=jpeg`,
            headers: authenticated(BENCH_API_KEY, 'image/jpeg'),
            body: fixture,
          };
        case 'stored':
          return get(`jpg?w=${width}&h=${height}&q=${quality}`);
        case 'hit':
          return hits[index % hits.length] ?? get('jpg');
      }
    };
    const chunks: Chunk[] = [];
    let startRssBytes = 0;
    for (let from = 0; from < options.requests; from += options.chunk) {
      await service.windowStart();
      const result = await runLoad({
        host: HOST,
        ports: [port],
        request: (index) => requestAt(from + index),
        connections: options.connections,
        stop: { requests: options.chunk },
        expect: { status: 200 },
      });
      const window = await service.windowEnd();
      if (from === 0) startRssBytes = window.startRssBytes;
      chunks.push({ done: from + options.chunk, rate: result.requests / result.seconds, window });
      progress(
        `${name}: ${from + options.chunk} requests, ${fixed(result.requests / result.seconds, 0)} req/s, ` +
          `RSS ${megabytes(window.endRssBytes)} MB (load average ${loadAverage()})`,
      );
    }
    return { settings, settingsLine: `settings     ${settingsLine([service])}`, startRssBytes, chunks };
  } finally {
    await service.stop();
  }
}

function targetLines(run: SoakRun): string[] {
  const name = configName(run.settings);
  const peak = Math.max(...run.chunks.map((chunk) => chunk.window.peakRssBytes));
  const half = Math.floor(run.chunks.length / 2);
  const firstHalf = Math.max(...run.chunks.slice(0, half).map((chunk) => chunk.window.endRssBytes));
  const secondHalf = run.chunks.slice(half).map((chunk) => chunk.window.endRssBytes);
  const last = secondHalf.at(-1) ?? 0;
  const growth = last / firstHalf - 1;
  return [
    `target ${name}: peak RSS ${againstTarget(`${megabytes(peak)} MB`, `${megabytes(RSS_TARGET_BYTES)} MB`, peak <= RSS_TARGET_BYTES, 'at most')}`,
    `target ${name}: no growth — RSS after the last chunk ${megabytes(last)} MB against the first half's highest ` +
      `${megabytes(firstHalf)} MB: ${againstTarget(`${growth >= 0 ? '+' : ''}${fixed(growth * 100, 1)}%`, `+${GROWTH_TOLERANCE * 100}%`, growth <= GROWTH_TOLERANCE, 'at most')} ` +
      `(second half's mean ${megabytes(mean(secondHalf))} MB)`,
  ];
}

function report(options: Options, runs: readonly SoakRun[], started: Started, fixtureLine: string): string {
  const lines = [...machineLines(started.at), fixtureLine];
  const targets: string[] = [];
  for (const run of runs) {
    lines.push(
      run.settingsLine,
      `RSS before the soak (after the upload and priming the cached images): ${megabytes(run.startRssBytes)} MB`,
      '',
      formatTable(
        ['requests', 'req/s', 'RSS at end MB', 'peak RSS MB', 'V8 heap used MB', 'CPUs used'],
        run.chunks.map(({ done, rate, window }) => [
          String(done),
          fixed(rate, 0),
          megabytes(window.endRssBytes),
          megabytes(window.peakRssBytes),
          megabytes(window.endHeapUsedBytes),
          fixed(window.cpuSeconds / window.seconds, 2),
        ]),
      ),
      '',
    );
    targets.push(...targetLines(run));
  }
  lines.push(
    `${options.connections} connections, one request in flight on each. Mix, in every 20: 4 POST /v1/transform of the fixture, ` +
      `5 GET of the stored image at a size not asked for before, 11 GET of ${HITS.length} cached derived images (${HITS.join(', ')}).`,
    "RSS: of the service process (every service, as npm start runs them), sampled every 50 ms; V8 heap: JavaScript objects at the chunk's end.",
    ...reportTail(started, targets),
  );
  return lines.join('\n');
}

async function main(options: Options): Promise<void> {
  const started = startedNow();
  const fixture = await readFile(options.fixture);
  const fixtureLine = `fixture      ${options.fixture} (${fixture.length} bytes)`;
  const runs: SoakRun[] = [];
  for (const settings of options.configs) runs.push(await runConfig(options, settings, fixture));
  console.log(report(options, runs, started, fixtureLine));
}

await runBenchmark(() => parseOptions(process.argv.slice(2)), USAGE, main);
