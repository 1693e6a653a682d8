import type { Logger } from '../logger.ts';
import { drainedPerSecond, expectedWaitSeconds, smoothedRate, stalledWaitSeconds, type BacklogSample } from './drain-rate.ts';
import { countPipeline, imagesInFlight, type Backlog, type PipelineImages } from './pipeline-images.ts';

/** The pipeline as last counted: its backlog by stage, how fast it drains, and how long a new upload would wait. */
export interface PipelineState {
  readonly backlog: Backlog;
  readonly inFlight: number;
  /** Images leaving the pipeline per second, smoothed; null until measured. */
  readonly drainPerSecond: number | null;
  /**
   * Seconds until the images in flight have drained; before any has drained, the least they will take
   * (stalledWaitSeconds); null while there is nothing to go by.
   */
  readonly expectedWaitSeconds: number | null;
  /** When it was counted (ms since the epoch). */
  readonly at: number;
}

/**
 * Counts the pipeline's backlog in the catalog store every `intervalMs` (the
 * images in flight, by status), with the number of image records, and derives
 * the drain rate from one count to the next. A count that fails keeps the
 * last state (the catalog store's own readiness check shows the failure).
 */
export class BacklogSampler {
  readonly #images: PipelineImages;
  readonly #intervalMs: number;
  readonly #log: Logger;
  readonly #now: () => number;
  #sample: BacklogSample | null = null;
  #state: PipelineState | null = null;
  #timer: NodeJS.Timeout | null = null;
  /** The last count started by the timer (or by start); stop waits for it. */
  #counting: Promise<void> = Promise.resolve();
  #stopped = false;

  constructor(images: PipelineImages, options: { readonly intervalMs: number; readonly log: Logger; readonly now?: () => number }) {
    this.#images = images;
    this.#intervalMs = options.intervalMs;
    this.#log = options.log;
    this.#now = options.now ?? Date.now;
  }

  /** Counts now, then every interval until stopped. */
  start(): void {
    this.#counting = this.#sampleThenWait();
  }

  /** The state of the last count; null before the first one. */
  current(): PipelineState | null {
    return this.#state;
  }

  /**
   * Counts the backlog and the total now, and updates the state. Until an
   * image has drained, windows are measured from the same first count, so the
   * wait grows with the time nothing drained.
   */
  async sample(): Promise<PipelineState> {
    const { backlog, total } = await countPipeline(this.#images);
    const sample: BacklogSample = { at: this.#now(), total, inFlight: imagesInFlight(backlog) };
    const previous = this.#state?.drainPerSecond ?? null;
    const measured = this.#sample === null ? null : drainedPerSecond(this.#sample, sample);
    const stalledSince = previous === null && measured === 0 ? this.#sample : null;
    const drainPerSecond = stalledSince === null ? smoothedRate(previous, measured) : null;
    const wait = stalledSince === null ? expectedWaitSeconds(sample.inFlight, drainPerSecond) : stalledWaitSeconds(stalledSince, sample);
    if (stalledSince === null) this.#sample = sample;
    this.#state = { backlog, inFlight: sample.inFlight, drainPerSecond, expectedWaitSeconds: wait, at: sample.at };
    return this.#state;
  }

  /**
   * Counts no more, and resolves once a count under way has ended, so that the
   * catalog store can be closed after it without failing a count in flight.
   */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    await this.#counting;
  }

  /** One count at a time: the next is scheduled once this one is done, however long it took. */
  async #sampleThenWait(): Promise<void> {
    try {
      await this.sample();
    } catch (error) {
      this.#log.warn({ err: error }, 'counting the pipeline backlog failed; the last count stands');
    }
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#counting = this.#sampleThenWait();
    }, this.#intervalMs);
    this.#timer.unref();
  }
}

/** The readiness of the pipeline: degraded while a new upload's expected wait passes `degradedSeconds`. */
export function backlogHealthOf(state: PipelineState | null, degradedSeconds: number): { degraded: string } | undefined {
  const wait = state?.expectedWaitSeconds ?? null;
  if (state === null || wait === null || wait <= degradedSeconds) return undefined;
  const rate = state.drainPerSecond;
  const expected =
    rate === null
      ? `none has drained yet: at least ${Math.ceil(wait)} s`
      : `they drain at ${rate.toFixed(2)}/s, in about ${Math.ceil(wait)} s`;
  return { degraded: `${state.inFlight} images in the pipeline and ${expected}: past ${degradedSeconds} s` };
}
