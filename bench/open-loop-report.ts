import type { PipelineRun } from './pipeline-run.ts';
import { latencySegments, recordedLatencyMs } from './stage-timeline.ts';
import { againstTarget, fixed, formatTable, mean, quantile } from './stats.ts';

/**
 * The report of an open loop (`npm run bench -- --arrival-rate R`): per run,
 * upload→ready latencies at the rate uploads arrived, where that time went,
 * and the verdict against the p95 target. Latency runs from the start of the
 * upload request to the catalog's record saying `ready`; its webhook's arrival
 * is given next to it.
 */

type OpenRun = PipelineRun & { readonly load: { readonly arrivalsPerSecond: number } };

export const isOpenLoop = (run: PipelineRun): run is OpenRun => 'arrivalsPerSecond' in run.load;

const seconds = (ms: number): string => fixed(ms / 1000, 2);

/** One row per open-loop run: the rate, the latencies, what it achieved, how late the client started uploads. */
function openLoopTable(runs: readonly OpenRun[]): string {
  return formatTable(
    ['setup', 'arrivals/s', 'images', 'achieved images/s', 'p50 s', 'p95 s', 'max s', 'p95 s as notified', 'max start lag ms'],
    runs.map((run) => {
      const recorded = run.timelines.map(recordedLatencyMs);
      const notified = run.timelines.map((timeline) => timeline.readyObserved - timeline.uploadStarted);
      return [
        run.setup,
        fixed(run.load.arrivalsPerSecond, 3),
        String(run.images),
        fixed(run.images / run.seconds, 3),
        seconds(quantile(recorded, 0.5)),
        seconds(quantile(recorded, 0.95)),
        seconds(quantile(recorded, 1)),
        seconds(quantile(notified, 0.95)),
        fixed(quantile(run.startLagsMs, 1), 0),
      ];
    }),
  );
}

/** Where an open-loop run's latency went, stage by stage (queue and service together), and whether it grew as the run went on. */
function latencyBreakdown(run: OpenRun): string[] {
  const segments = latencySegments(run.timelines);
  const byArrival = [...run.timelines].sort((a, b) => a.uploadStarted - b.uploadStarted).map(recordedLatencyMs);
  const third = Math.max(1, Math.floor(byArrival.length / 3));
  return [
    `pipeline, ${run.setup}: where the latency goes (time since the previous stage's event: queue and service, from the catalog's stage timestamps)`,
    formatTable(
      ['part', 'mean ms', 'p50 ms', 'p95 ms', 'max ms'],
      segments.map((segment) => [
        segment.part,
        ...[mean(segment.ms), ...[0.5, 0.95, 1].map((q) => quantile(segment.ms, q))].map((v) => fixed(v, 0)),
      ]),
    ),
    `mean upload→ready of the first ${third} uploads ${seconds(mean(byArrival.slice(0, third)))} s, ` +
      `of the last ${third} ${seconds(mean(byArrival.slice(-third)))} s (if it rises, a queue builds: the rate is past what the pipeline keeps up with)`,
  ];
}

/** The limit's images/s before the pipeline and over the whole run, and the fraction of the first the rate was set to (null: a rate given in images/s). */
export interface LimitRates {
  readonly before: number;
  readonly whole: number;
  readonly fraction: number | null;
}

/** The open-loop part of the report: how latency is measured, the rate against the limit, the table, and each run's breakdown. */
export function openLoopLines(runs: readonly OpenRun[], limit: LimitRates): string[] {
  const rate = runs[0]?.load.arrivalsPerSecond ?? Number.NaN;
  return [
    'open loop: one upload started every 1/R s whatever was in flight; latency = upload request start → the catalog recording ready ' +
      '(its updatedAt, read after the run); "as notified" = → its image.ready webhook received',
    `arrival rate ${fixed(rate, 3)} images/s` +
      (limit.fraction === null ? '' : `: ${limit.fraction} × the limit's ${fixed(limit.before, 3)} images/s measured before the pipeline`) +
      `; ${fixed(rate / limit.whole, 2)} × the limit over the whole run (${fixed(limit.whole, 3)} images/s)`,
    openLoopTable(runs),
    ...runs.flatMap((run) => ['', ...latencyBreakdown(run)]),
  ];
}

/** The target line: p95 upload→ready under the target at the run's arrival rate. */
export function latencyTargetLine(run: OpenRun, targetSeconds: number): string {
  const p95 = quantile(run.timelines.map(recordedLatencyMs), 0.95);
  return (
    `target ${run.setup}: p95 upload→ready at ${fixed(run.load.arrivalsPerSecond, 3)} arrivals/s ` +
    againstTarget(`${seconds(p95)} s`, `${targetSeconds} s`, p95 < targetSeconds * 1000, 'at most')
  );
}
