import type { AnswerTally } from './answer-tally.ts';
import type { WindowResult } from './child-process.ts';
import type { Drain } from './drain-watch.ts';
import type { ServiceSamples } from './service-sampler.ts';
import { loadAverage, machineLines, megabytes, type Started } from './side-options.ts';
import { fixed, formatTable, LATENCY_HEADER, latencyCells } from './stats.ts';
import type { UploadFixture } from './upload-mix.ts';

/** The formats the reads ask for, in turn: JPEG, WebP and PNG conversions, and AVIF, the costliest to make. */
export const READ_FORMATS = ['jpg', 'webp', 'png', 'avif'] as const;

/** What one run of bench/upload-load.ts measured (times in epoch ms). */
export interface LoadRun {
  readonly name: string;
  readonly settingsLine: string;
  readonly uploads: { readonly tally: AnswerTally; readonly seconds: number; readonly expectedWaits: readonly number[] };
  readonly uploadsStarted: number;
  readonly uploadsEnded: number;
  readonly samples: ServiceSamples;
  readonly drain: Drain;
  readonly reads: { readonly seconds: number; readonly byFormat: readonly AnswerTally[] } | null;
  readonly windows: { readonly uploads: WindowResult; readonly drain: WindowResult; readonly reads: WindowResult | null };
}

/** The run's options, as the report names them. */
export interface Shape {
  readonly seconds: number;
  readonly concurrency: number;
  readonly readSeconds: number;
  readonly drainMinutes: number;
}

const rate = (count: number, seconds: number): string => fixed(seconds > 0 ? count / seconds : Number.NaN, 1);

function failureLines(title: string, tally: AnswerTally): string[] {
  const failures = tally.failures();
  if (failures.length === 0) return [`${title}: none`];
  return [
    `${title}:`,
    formatTable(
      ['status and code', 'count'],
      failures.map(([outcome, count]) => [outcome, String(count)]),
    ),
  ];
}

function backlogLines(run: LoadRun): string[] {
  const { samples, uploads } = run;
  const waits = uploads.expectedWaits;
  const lines = [
    waits.length === 0
      ? `expectedWaitSeconds: in none of the ${uploads.tally.succeeded} 202 bodies`
      : `expectedWaitSeconds: in ${waits.length} of ${uploads.tally.succeeded} 202 bodies; largest ${fixed(Math.max(...waits), 1)} s, ` +
        `in the last 202 ${fixed(waits.at(-1) ?? Number.NaN, 1)} s`,
  ];
  const { backlog } = samples;
  if (backlog === null) {
    lines.push(`progimage_pipeline_backlog_images: not in /metrics (${samples.samples} samples, once a second, uploads and drain)`);
  } else {
    const byStage = [...backlog.maxByStage].map(([stage, value]) => `${stage} ${value}`).join(', ');
    lines.push(
      `progimage_pipeline_backlog_images: largest ${backlog.maxTotal} images over every stage, ` +
        `${fixed((backlog.maxTotalAt - run.uploadsStarted) / 1000, 0)} s after the uploads began; largest by stage: ${byStage}`,
    );
  }
  const readiness = [...samples.readiness].map(([status, count]) => `${status} ${count}`).join(', ');
  lines.push(
    `/readyz over ${samples.samples} samples: ${readiness === '' ? 'never read' : readiness}` +
      (samples.unread > 0 ? `; ${samples.unread} samples could not be read` : ''),
  );
  for (const [check, { samples: count, first, last }] of samples.notOk) {
    lines.push(`  ${check} not ok in ${count} samples; first "${first}"${count > 1 ? `, last "${last}"` : ''}`);
  }
  return lines;
}

function drainLines(run: LoadRun, shape: Shape): string[] {
  const { drain, uploads, uploadsEnded } = run;
  const accepted = uploads.tally.succeeded;
  const byStatus = new Map<string, number>();
  for (const image of drain.finals) byStatus.set(image.status, (byStatus.get(image.status) ?? 0) + 1);
  const finalDuring = drain.finals.filter((image) => image.finalAt <= uploadsEnded).length;
  const left = accepted - finalDuring;
  const lastFinal = Math.max(...drain.finals.map((image) => image.finalAt));
  const drainSeconds = (lastFinal - uploadsEnded) / 1000;
  const lines = [
    `final: ${['ready', 'failed', 'infected'].map((status) => `${status} ${byStatus.get(status) ?? 0}`).join(', ')}` +
      (drain.pending.length > 0 ? `; NOT FINAL when the wait ended (--drain-minutes ${shape.drainMinutes}): ${drain.pending.length}` : ''),
    `during the uploads: ${fixed(accepted / uploads.seconds, 1)} uploads/s accepted, ${finalDuring} images made final ` +
      `(${rate(finalDuring, uploads.seconds)} images/s)`,
  ];
  if (drain.pending.length > 0) {
    lines.push(
      `after the last upload: ${left} images not final; ${left - drain.pending.length} made final in the wait ` +
        `(${rate(left - drain.pending.length, (drain.lastSeenAt - uploadsEnded) / 1000)} images/s)`,
    );
  } else if (left === 0) {
    lines.push('after the last upload: nothing left; every accepted image was final when the last upload was answered');
  } else {
    lines.push(
      `after the last upload: ${left} images not final; all final ${fixed(drainSeconds, 1)} s later by the catalog's record ` +
        `(${fixed((drain.lastSeenAt - uploadsEnded) / 1000, 1)} s later as polled): drained at ${rate(left, drainSeconds)} images/s`,
    );
  }
  if (drain.unexpected.size > 0) {
    lines.push(
      `status reads that answered neither 200 nor 404: ${[...drain.unexpected].map(([status, count]) => `${status} × ${count}`).join(', ')}`,
    );
  }
  return lines;
}

function readLines(run: LoadRun, shape: Shape): string[] {
  const { reads } = run;
  const ready = run.drain.finals.filter((image) => image.status === 'ready').length;
  if (reads === null) return [`reads: none (${ready === 0 ? 'no image ended ready' : '--read-seconds 0'})`];
  const row = (label: string, tallies: readonly AnswerTally[]) => {
    const requests = tallies.reduce((sum, tally) => sum + tally.requests, 0);
    const failed = tallies.reduce((sum, tally) => sum + tally.requests - tally.succeeded, 0);
    return [
      label,
      String(requests),
      String(failed),
      rate(requests, reads.seconds),
      ...latencyCells(tallies.flatMap((tally) => tally.latenciesMs)),
    ];
  };
  const lines = [
    `reads: GET /v1/images/ID.EXT of the ${ready} ready images, each in ${READ_FORMATS.join(', ')} in turn, ` +
      `${shape.concurrency} connections for ${fixed(reads.seconds, 1)} s`,
    formatTable(
      ['format', 'requests', 'failed', 'req/s', ...LATENCY_HEADER],
      [...READ_FORMATS.map((format, index) => row(format, reads.byFormat.slice(index, index + 1))), row('all', reads.byFormat)],
    ),
  ];
  const asked = reads.byFormat.reduce((sum, tally) => sum + tally.requests, 0);
  const urls = ready * READ_FORMATS.length;
  lines.push(
    asked <= urls
      ? `each URL asked at most once (${asked} of the ${urls}): every read was the first of its URL, a conversion made on request ` +
          "unless the format was the stored image's own"
      : `the ${urls} URLs asked ${fixed(asked / urls, 1)} times each on average: the first read of a URL makes it, later ones are served as stored`,
  );
  for (const [index, format] of READ_FORMATS.entries()) {
    const tally = reads.byFormat[index];
    if (tally !== undefined && tally.failures().length > 0) lines.push(...failureLines(`${format} failures by status and code`, tally));
  }
  return lines;
}

function memoryLines(run: LoadRun): string[] {
  const phases: [string, WindowResult | null][] = [
    ['uploads', run.windows.uploads],
    ['drain', run.windows.drain],
    ['reads', run.windows.reads],
  ];
  const measured = phases.flatMap(([phase, window]) => (window === null ? [] : [[phase, window] as const]));
  const peak = measured.reduce((highest, entry) => (entry[1].peakRssBytes > highest[1].peakRssBytes ? entry : highest));
  const last = measured.at(-1) ?? peak;
  return [
    formatTable(
      ['phase', 'seconds', 'CPUs used', 'RSS at start MB', 'peak RSS MB', 'RSS at end MB', 'V8 heap at end MB'],
      measured.map(([phase, window]) => [
        phase,
        fixed(window.seconds, 1),
        fixed(window.cpuSeconds / window.seconds, 2),
        megabytes(window.startRssBytes),
        megabytes(window.peakRssBytes),
        megabytes(window.endRssBytes),
        megabytes(window.endHeapUsedBytes),
      ]),
    ),
    `RSS of the service process: before the uploads ${megabytes(run.windows.uploads.startRssBytes)} MB, at peak ` +
      `${megabytes(peak[1].peakRssBytes)} MB (${peak[0]}), after the ${last[0]} ${megabytes(last[1].endRssBytes)} MB`,
  ];
}

function runLines(run: LoadRun, shape: Shape): string[] {
  const { tally, seconds } = run.uploads;
  return [
    '',
    `== ${run.name} ==`,
    run.settingsLine,
    '',
    `uploads: POST /v1/images, ${shape.concurrency} connections for ${fixed(seconds, 1)} s`,
    formatTable(
      ['requests', 'accepted (202)', 'failed', 'req/s', ...LATENCY_HEADER],
      [
        [
          String(tally.requests),
          String(tally.succeeded),
          String(tally.requests - tally.succeeded),
          rate(tally.requests, seconds),
          ...latencyCells(tally.latenciesMs),
        ],
      ],
    ),
    ...failureLines('upload failures by status and code', tally),
    '',
    'what the service said of its backlog',
    ...backlogLines(run).map((line) => `  ${line}`),
    '',
    'backlog drained',
    ...drainLines(run, shape).map((line) => `  ${line}`),
    '',
    ...readLines(run, shape),
    '',
    'the service process (every service, as npm start runs them; RSS sampled every 50 ms)',
    ...memoryLines(run),
  ];
}

export function report(shape: Shape, mix: readonly UploadFixture[], runs: readonly LoadRun[], started: Started): string {
  return [
    ...machineLines(started.at),
    `uploads      in turn: ${mix.map((fixture) => `${fixture.name} (${fixture.description})`).join('; ')}`,
    `shape        uploads for ${shape.seconds} s, then the wait until every accepted image is final, then reads for ${shape.readSeconds} s`,
    `latency: request written → last response byte, by the load generator in this process. Load average (1 min) at start ${started.load}, at end ${loadAverage()}.`,
    ...runs.flatMap((run) => runLines(run, shape)),
  ].join('\n');
}
