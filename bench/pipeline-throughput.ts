/**
 * `npm run bench`: the pipeline's throughput from upload to `ready`, next to
 * the limit — the same pixel work done by a bare sharp loop in the same run —
 * as a ratio. A report: it exits 0 whether or not the target is met, and
 * non-zero only when the run itself fails. See docs/BENCHMARKS.md.
 */
import { readFile } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg } from 'node:os';
import sharp from 'sharp';
import { imageFormatSchema, type ImageFormat } from '../lib/events/payloads.ts';
import { CONTENT_TYPES } from '../lib/imaging/formats.ts';
import { combineLimitRuns, measureLimit, type LimitRun } from './limit-run.ts';
import { runBenchmark } from './command-line.ts';
import { parseOptions, USAGE, type BenchOptions } from './options.ts';
import { isOpenLoop, latencyTargetLine, openLoopLines } from './open-loop-report.ts';
import { describeLoad, measurePipeline, type PipelineLoad, type PipelineRun } from './pipeline-run.ts';
import { openSetup, type SetupName } from './pipeline-setups.ts';
import { progress } from './side-options.ts';
import { overheads, stageLoads } from './stage-timeline.ts';
import { fixed, formatTable, mean, quantile } from './stats.ts';

const loadAtStart = loadavg()[0] ?? Number.NaN;

async function runSetup(
  name: SetupName,
  { concurrency, copies }: { concurrency: number | null; copies: number | null },
  options: BenchOptions,
  load: PipelineLoad,
  upload: Buffer,
  contentType: string,
): Promise<PipelineRun> {
  const opened = await openSetup(name, progress);
  const setup = concurrency === null ? opened : { ...opened, env: { ...opened.env, PROGIMAGE_CONSUMER_CONCURRENCY: String(concurrency) } };
  const label = [
    name,
    ...(copies === null ? [] : [`distributed, ${copies} ${copies === 1 ? 'copy' : 'copies'} of each processor`]),
    ...(concurrency === null ? [] : [`consumer concurrency ${concurrency}`]),
  ].join(', ');
  try {
    progress(`${label}: ${options.images} uploads, ${describeLoad(load)}`);
    const run = await measurePipeline(setup, {
      upload,
      contentType,
      images: options.images,
      load,
      imageTimeoutMs: 10 * 60_000,
      progress,
      copies,
    });
    return { ...run, setup: label };
  } finally {
    await setup.remove();
  }
}

async function limitPart(part: string, options: BenchOptions, format: ImageFormat, images: number): Promise<LimitRun> {
  progress(`limit, ${part} the pipeline: ${images} images, ${options.limitConcurrency} at a time`);
  const run = await measureLimit(options.fixture, format, images, options.limitConcurrency);
  progress(`limit, ${part} the pipeline: ${fixed(run.images / run.seconds, 3)} images/s`);
  return run;
}

function machine(): string[] {
  const model = cpus()[0]?.model ?? 'unknown CPU';
  return [
    `date         ${new Date().toISOString()}`,
    `machine      ${availableParallelism()} CPUs (${model}), node ${process.version}, ${process.platform}-${process.arch}`,
    `imaging      sharp ${sharp.versions.sharp}, libvips ${sharp.versions.vips}, sharp.concurrency() = ${sharp.concurrency()}, ` +
      `UV_THREADPOOL_SIZE = ${process.env.UV_THREADPOOL_SIZE ?? '4 (default)'}`,
  ];
}

const sameVariants = (a: readonly string[], b: readonly string[]): boolean => [...a].sort().join(',') === [...b].sort().join(',');

/** How the pipeline's uploads start: `--in-flight`, or `--arrival-rate` resolved against the limit measured before the pipeline. */
function pipelineLoad(options: BenchOptions, before: LimitRun): PipelineLoad {
  const { arrivalRate } = options;
  if (arrivalRate === null) return { inFlight: options.inFlight };
  if ('perSecond' in arrivalRate) return { arrivalsPerSecond: arrivalRate.perSecond };
  return { arrivalsPerSecond: (arrivalRate.fractionOfLimit * before.images) / before.seconds };
}

/** Where a run's CPU went, process by process, per image, beside the limit's CPU per image. */
function cpuByProcessLines(run: PipelineRun, limitCpuPerImage: number): string[] {
  const total = [...run.cpuByProcess.values()].reduce((sum, seconds) => sum + seconds, 0);
  const rows = [...run.cpuByProcess]
    .filter(([, seconds]) => seconds > 0)
    .sort(([, a], [, b]) => b - a)
    .map(([name, seconds]) => [name, fixed(seconds, 1), `${fixed((seconds / total) * 100, 0)}%`, fixed(seconds / run.images, 3)]);
  return [
    `pipeline, ${run.setup}: where the CPU goes (CPU time of each process during the timed uploads)`,
    formatTable(
      ['process', 'CPU s', 'share', 'CPU s per image'],
      [...rows, ['all of them', fixed(total, 1), '100%', fixed(total / run.images, 3)]],
    ),
    `the limit: ${fixed(limitCpuPerImage, 3)} CPU s per image (strip, compress and variants in one process, nothing stored or sent)`,
  ];
}

function report(options: BenchOptions, fixtureLine: string, limitHalves: readonly LimitRun[], runs: readonly PipelineRun[]): string {
  const limit = limitHalves.reduce(combineLimitRuns);
  const limitRate = limit.images / limit.seconds;
  const seconds = (ms: number) => fixed(ms / 1000, 1);
  const rows = [
    [
      `limit (bare sharp loop, ${limit.concurrency} at a time)`,
      String(limit.images),
      fixed(limit.seconds, 1),
      fixed(limitRate, 3),
      seconds(quantile(limit.latenciesMs, 0.5)),
      seconds(quantile(limit.latenciesMs, 0.95)),
      fixed(limit.cpuSeconds / limit.seconds, 2),
      '1.00',
    ],
    ...runs.map((run) => {
      const latencies = run.timelines.map((timeline) => timeline.readyObserved - timeline.uploadStarted);
      return [
        `pipeline, ${run.setup} (${describeLoad(run.load)})`,
        String(run.images),
        fixed(run.seconds, 1),
        fixed(run.images / run.seconds, 3),
        seconds(quantile(latencies, 0.5)),
        seconds(quantile(latencies, 0.95)),
        fixed(run.cpuSeconds / run.seconds, 2),
        fixed(run.images / run.seconds / limitRate, 2),
      ];
    }),
  ];
  const lines = [
    ...machine(),
    fixtureLine,
    '',
    formatTable(['setup', 'images', 'seconds', 'images/s', 'p50 s', 'p95 s', 'CPUs used', 'ratio to limit'], rows),
    '',
    "latency: limit = one image's stage work; pipeline = upload start → its image.ready webhook received.",
    ...[...new Set(runs.map((run) => run.cpuMeasure))].map(
      (measure) => `CPUs used by a pipeline run: the CPU time of ${measure} / wall time (of ${availableParallelism()} CPUs).`,
    ),
    `Limit: this process's CPU time / wall time. ` +
      `Load average (1 min) at start ${fixed(loadAtStart, 2)}, at end ${fixed(loadavg()[0] ?? Number.NaN, 2)}.`,
    `limit, mean per image: strip ${fixed(mean(limit.stageTimesMs.map((t) => t.strip)), 0)} ms, ` +
      `compress ${fixed(mean(limit.stageTimesMs.map((t) => t.compress)), 0)} ms, ` +
      `variants ${fixed(mean(limit.stageTimesMs.map((t) => t.variants)), 0)} ms (wall, ${limit.concurrency} images at a time)`,
  ];
  const rates = limitHalves.map((half) => half.images / half.seconds);
  const spread = (Math.max(...rates) - Math.min(...rates)) / Math.min(...rates);
  lines.push(
    `limit before and after the pipeline: ${rates.map((rate) => `${fixed(rate, 3)} images/s`).join(', ')}` +
      (spread > 0.15
        ? ` — they differ by ${fixed(spread * 100, 0)}%: the machine's load changed during the run; treat the ratio with care`
        : ''),
  );
  for (const run of runs) {
    const loads = stageLoads(run.timelines, run.seconds);
    const extra = overheads(run.timelines);
    lines.push(
      '',
      `pipeline, ${run.setup}: where the time goes (service time per image, from the catalog's stage timestamps)`,
      formatTable(
        ['stage', 'mean ms', 'p95 ms', 'max images/s', 'busy'],
        loads.map((load) => [
          load.stage,
          fixed(load.meanServiceMs, 0),
          fixed(load.p95ServiceMs, 0),
          fixed(load.maxImagesPerSecond, 3),
          `${fixed(load.busy * 100, 0)}%`,
        ]),
      ),
      `upload request ${fixed(extra.uploadMs, 0)} ms, catalog projection ${fixed(extra.catalogMs, 0)} ms, ` +
        `webhook delay ${fixed(extra.webhookMs, 0)} ms (means)`,
    );
    lines.push('', ...cpuByProcessLines(run, limit.cpuSeconds / limit.images));
    const unrecorded = run.timelines.filter((timeline) => timeline.stages === null).length;
    if (unrecorded > 0) lines.push(`${unrecorded} of ${run.images} images lack a stage time in the catalog and are left out of this table`);
    if (!sameVariants(run.variants, limit.variants)) {
      lines.push(
        `WARNING: the pipeline made variants [${run.variants.join(', ')}] but the limit loop [${limit.variants.join(', ')}]: ` +
          'bench/stage-work.ts is out of step with the processors, and the ratio compares different work',
      );
    }
  }
  const openRuns = runs.filter(isOpenLoop);
  if (openRuns.length > 0) {
    const fraction = options.arrivalRate !== null && 'fractionOfLimit' in options.arrivalRate ? options.arrivalRate.fractionOfLimit : null;
    lines.push('', ...openLoopLines(openRuns, { before: rates[0] ?? Number.NaN, whole: limitRate, fraction }));
  }
  lines.push('');
  for (const run of openRuns) lines.push(latencyTargetLine(run, options.latencyTargetSeconds));
  for (const run of runs.filter((run) => !isOpenLoop(run))) {
    const ratio = run.images / run.seconds / limitRate;
    lines.push(
      `target ${run.setup}: ratio ${fixed(ratio, 2)} ${ratio >= options.target ? '≥' : '<'} ${options.target} → ` +
        (ratio >= options.target ? 'MET' : 'NOT MET'),
    );
  }
  return lines.join('\n');
}

async function main(options: BenchOptions): Promise<void> {
  const upload = await readFile(options.fixture);
  const metadata = await sharp(upload).metadata();
  const format: ImageFormat = imageFormatSchema.parse(metadata.format);
  const fixtureLine = `fixture      ${options.fixture} (${format}, ${metadata.width}x${metadata.height}, ${upload.length} bytes)`;

  // The limit runs in two halves, before and after the pipeline, so that a change in the machine's
  // background load during the run weighs on both sides; the halves are reported when they disagree.
  const firstHalf = Math.ceil(options.images / 2);
  const before = await limitPart('before', options, format, firstHalf);
  const load = pipelineLoad(options, before);
  const runs: PipelineRun[] = [];
  for (const setup of options.setups) {
    // Only the servers can be shared by separate processes: the embedded bus belongs to one process.
    const layouts = setup === 'servers' && options.copies !== null ? options.copies : [null];
    for (const copies of layouts) {
      for (const concurrency of options.consumerConcurrencies ?? [null]) {
        runs.push(await runSetup(setup, { concurrency, copies }, options, load, upload, CONTENT_TYPES[format]));
      }
    }
  }
  const limitHalves =
    options.images - firstHalf === 0 ? [before] : [before, await limitPart('after', options, format, options.images - firstHalf)];

  console.log(report(options, fixtureLine, limitHalves, runs));
}

await runBenchmark(() => parseOptions(process.argv.slice(2), process.env), USAGE, main);
