import { mean, quantile } from './stats.ts';

/** When each stage finished with an image: its output event's time, as the catalog recorded it (epoch ms). */
export interface StageTimes {
  readonly uploaded: number;
  readonly scanned: number;
  readonly stripped: number;
  readonly compressed: number;
  readonly variantsBuilt: number;
}

/**
 * One image's way through the pipeline, in epoch milliseconds: the client's
 * clock for the upload and the observation of `ready`, the catalog's record
 * for the rest. All run on one machine, so the clocks agree.
 */
export interface ImageTimeline {
  readonly id: string;
  readonly uploadStarted: number;
  readonly uploadAnswered: number;
  /** The catalog's updatedAt, read after the run: when it projected the image's last event (the one that made it ready, unless a slower topic's came after). */
  readonly readyRecorded: number;
  /** When the image.ready webhook reached the client. */
  readonly readyObserved: number;
  /** Null when the catalog never recorded one of the stages. */
  readonly stages: StageTimes | null;
  readonly variants: readonly string[];
}

export interface StageLoad {
  readonly stage: string;
  /** Mean time the stage spent per image, excluding time the image waited for the stage's previous image. */
  readonly meanServiceMs: number;
  readonly p95ServiceMs: number;
  /** The most images per second this stage can pass, at that service time. */
  readonly maxImagesPerSecond: number;
  /** Fraction of the run the stage was handling an image. */
  readonly busy: number;
}

type TimeField = keyof StageTimes;

/** The processors: each one consumer handling one message at a time, so one server with a queue. */
const SERIAL_STAGES: readonly { readonly stage: string; readonly arrives: TimeField; readonly leaves: TimeField }[] = [
  { stage: 'scan', arrives: 'uploaded', leaves: 'scanned' },
  { stage: 'strip', arrives: 'scanned', leaves: 'stripped' },
  { stage: 'compress', arrives: 'stripped', leaves: 'compressed' },
  { stage: 'variants', arrives: 'compressed', leaves: 'variantsBuilt' },
];

/**
 * Each serial stage's service time, recovered from the catalog's timestamps:
 * a single-server stage starts an image when both the image has arrived and
 * the stage has finished the image before it, so
 * service = leaves − max(arrives, previous image's leaves).
 * It is wall time, so it includes waiting for a CPU the other stages hold,
 * reading the input blob, writing the output and publishing.
 */
export function stageLoads(timelines: readonly ImageTimeline[], runSeconds: number): StageLoad[] {
  const recorded = timelines.flatMap((timeline) => (timeline.stages === null ? [] : [timeline.stages]));
  return SERIAL_STAGES.map(({ stage, arrives, leaves }) => {
    const ordered = [...recorded].sort((a, b) => a[leaves] - b[leaves]);
    let previousLeft = Number.NEGATIVE_INFINITY;
    const services = ordered.map((timeline) => {
      const service = timeline[leaves] - Math.max(timeline[arrives], previousLeft);
      previousLeft = timeline[leaves];
      return service;
    });
    const meanServiceMs = mean(services);
    return {
      stage,
      meanServiceMs,
      p95ServiceMs: quantile(services, 0.95),
      maxImagesPerSecond: 1000 / meanServiceMs,
      busy: services.reduce((sum, service) => sum + service, 0) / (runSeconds * 1000),
    };
  });
}

/** Mean time of the parts of an image's latency that are not a serial stage. */
export function overheads(timelines: readonly ImageTimeline[]) {
  const meanOf = (part: (timeline: ImageTimeline) => number) => mean(timelines.map(part));
  return {
    /** POST /v1/images: request, sniffing, storing the original, publishing image.uploaded. */
    uploadMs: meanOf((timeline) => timeline.uploadAnswered - timeline.uploadStarted),
    /** image.variants-built published → the catalog's record says ready. */
    catalogMs: mean(
      timelines.flatMap((timeline) => (timeline.stages === null ? [] : [timeline.readyRecorded - timeline.stages.variantsBuilt])),
    ),
    /** The catalog's record says ready → its webhook reaches the client. */
    webhookMs: meanOf((timeline) => timeline.readyObserved - timeline.readyRecorded),
  };
}

/** From the start of an image's upload request to the catalog's record saying `ready` (its updatedAt in the first answer that said so). */
export const recordedLatencyMs = (timeline: ImageTimeline): number => timeline.readyRecorded - timeline.uploadStarted;

/** One part of the latency: the time between two consecutive points of an image's way, for each image. */
export interface LatencySegment {
  readonly part: string;
  readonly ms: readonly number[];
}

/**
 * An image's latency cut at each stage's output event, so the parts add up to
 * upload start → ready as the catalog recorded it (then the webhook's delay, not
 * part of it). Each stage's part is its queue and its service together: the
 * time since the previous stage's event. Images lacking a stage time are left out.
 */
export function latencySegments(timelines: readonly ImageTimeline[]): LatencySegment[] {
  const recorded = timelines.flatMap((timeline) => (timeline.stages === null ? [] : [{ ...timeline, stages: timeline.stages }]));
  type Recorded = (typeof recorded)[number];
  /** Where each part ends; each begins where the one before ended, the first at the upload's start. */
  const ends: readonly (readonly [string, (timeline: Recorded) => number])[] = [
    ['upload request → image.uploaded', (t) => t.stages.uploaded],
    ['scan', (t) => t.stages.scanned],
    ['strip', (t) => t.stages.stripped],
    ['compress', (t) => t.stages.compressed],
    ['variants', (t) => t.stages.variantsBuilt],
    ['catalog projection', (t) => t.readyRecorded],
    ['(webhook delay, not counted)', (t) => t.readyObserved],
  ];
  return ends.map(([part, end], index) => {
    const start = ends[index - 1]?.[1] ?? ((t: Recorded) => t.uploadStarted);
    return { part, ms: recorded.map((timeline) => end(timeline) - start(timeline)) };
  });
}
