import { readFile } from 'node:fs/promises';
import type { ImageFormat } from '../lib/events/payloads.ts';
import { runConcurrently } from '../lib/concurrency.ts';
import { doStageWork, type StageWorkTimes } from './stage-work.ts';

export interface LimitRun {
  readonly images: number;
  readonly concurrency: number;
  readonly seconds: number;
  /** CPU seconds this process used during the run (user + system). */
  readonly cpuSeconds: number;
  /** Per image, from reading its file to its last variant, in milliseconds. */
  readonly latenciesMs: readonly number[];
  readonly stageTimesMs: readonly StageWorkTimes[];
  /** `name/format` of the variants made for one image. */
  readonly variants: readonly string[];
}

/**
 * The limit: the stages' pixel work done by a bare loop, `concurrency` images
 * at a time, each read from its local file. One image is done first, untimed,
 * so that codec initialisation is not counted (the pipeline gets a warm-up too).
 */
export async function measureLimit(file: string, format: ImageFormat, images: number, concurrency: number): Promise<LimitRun> {
  const warmUp = await doStageWork(await readFile(file), format);
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  const results = await runConcurrently(images, concurrency, async () => {
    const imageStarted = performance.now();
    const { times } = await doStageWork(await readFile(file), format);
    return { times, latency: performance.now() - imageStarted };
  });
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  return {
    images,
    concurrency,
    seconds,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    latenciesMs: results.map((result) => result.latency),
    stageTimesMs: results.map((result) => result.times),
    variants: warmUp.variants,
  };
}

/** Two parts of the limit as one: images and times add up. */
export function combineLimitRuns(first: LimitRun, second: LimitRun): LimitRun {
  return {
    images: first.images + second.images,
    concurrency: first.concurrency,
    seconds: first.seconds + second.seconds,
    cpuSeconds: first.cpuSeconds + second.cpuSeconds,
    latenciesMs: [...first.latenciesMs, ...second.latenciesMs],
    stageTimesMs: [...first.stageTimesMs, ...second.stageTimesMs],
    variants: first.variants,
  };
}
