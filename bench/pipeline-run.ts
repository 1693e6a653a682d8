import { newApiKey } from '../lib/auth/keys.ts';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { runConcurrently } from '../lib/concurrency.ts';
import { runAtRate } from './arrivals.ts';
import { hostDistributed, hostInProcess, type PipelineHost } from './pipeline-hosts.ts';
import type { PipelineSetup } from './pipeline-setups.ts';
import type { ImageTimeline, StageTimes } from './stage-timeline.ts';

/**
 * How uploads are started: a closed loop keeps `inFlight` images between the
 * start of their upload and their observed `ready`, at most; an open loop
 * starts one every 1 / `arrivalsPerSecond` seconds, whatever is in flight.
 */
export type PipelineLoad = { readonly inFlight: number } | { readonly arrivalsPerSecond: number };

/** The load as the report names it: "8 in flight", "open loop, 0.700 arrivals/s". */
export const describeLoad = (load: PipelineLoad): string =>
  'inFlight' in load ? `${load.inFlight} in flight` : `open loop, ${load.arrivalsPerSecond.toFixed(3)} arrivals/s`;

export interface PipelineRunOptions {
  readonly upload: Buffer;
  readonly contentType: string;
  readonly images: number;
  readonly load: PipelineLoad;
  readonly pollIntervalMs: number;
  readonly imageTimeoutMs: number;
  readonly progress: (line: string) => void;
  /** Copies of each processor in the distributed layout (every service its own process); null: every service in this process. */
  readonly copies: number | null;
}

export interface PipelineRun {
  readonly setup: string;
  readonly images: number;
  readonly load: PipelineLoad;
  /** Open loop: per image, how late its upload started against its schedule (the client's own delay), in ms; closed loop: empty. */
  readonly startLagsMs: readonly number[];
  /** From the first upload's start to the last image observed `ready`. */
  readonly seconds: number;
  /** CPU seconds used during the timed uploads (user + system), by what `cpuMeasure` names. */
  readonly cpuSeconds: number;
  readonly cpuMeasure: string;
  /** CPU seconds used during the timed uploads by each process that ran or served the pipeline. */
  readonly cpuByProcess: ReadonlyMap<string, number>;
  readonly timelines: readonly ImageTimeline[];
  /** `name/format` of the variants the catalog lists for one image. */
  readonly variants: readonly string[];
  readonly statusPolls: number;
}

const stageAt = z.object({ at: z.string().nullable() }).loose();
const imageViewSchema = z
  .object({
    id: z.string(),
    status: z.string(),
    updatedAt: z.string(),
    failure: z.object({ stage: z.string(), reason: z.string() }).nullable(),
    stages: z.object({ upload: stageAt, scan: stageAt, strip: stageAt, compress: stageAt, variants: stageAt }),
    variants: z.array(z.object({ name: z.string(), format: z.string() }).loose()),
  })
  .loose();
type ImageView = z.infer<typeof imageViewSchema>;

const acceptedSchema = z.object({ id: z.string() }).loose();

const FINAL_STATUSES = new Set(['ready', 'failed', 'infected']);

/**
 * When each stage finished, by the catalog; null while the catalog has not
 * projected one of them yet (it may project image.variants-built, and so say
 * `ready`, before a slower topic's image.uploaded).
 */
function stageTimesOf(view: ImageView): StageTimes | null {
  const { upload, scan, strip, compress, variants } = view.stages;
  if (upload.at === null || scan.at === null || strip.at === null || compress.at === null || variants.at === null) return null;
  return {
    uploaded: Date.parse(upload.at),
    scanned: Date.parse(scan.at),
    stripped: Date.parse(strip.at),
    compressed: Date.parse(compress.at),
    variantsBuilt: Date.parse(variants.at),
  };
}

class BenchClient {
  statusPolls = 0;

  constructor(
    private readonly baseUrl: string,
    private readonly apiKey: string,
  ) {}

  #fetch(path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    headers.set('Authorization', `Bearer ${this.apiKey}`);
    return fetch(`${this.baseUrl}${path}`, { ...init, headers });
  }

  async upload(bytes: Buffer, contentType: string): Promise<string> {
    const response = await this.#fetch('/v1/images', { method: 'POST', body: bytes, headers: { 'Content-Type': contentType } });
    const body = await response.text();
    if (response.status !== 202) throw new Error(`upload answered ${response.status}: ${body}`);
    return acceptedSchema.parse(JSON.parse(body)).id;
  }

  async view(id: string): Promise<ImageView> {
    const response = await this.#fetch(`/v1/images/${id}`);
    const body = await response.text();
    if (response.status !== 200) throw new Error(`GET /v1/images/${id} answered ${response.status}: ${body}`);
    return imageViewSchema.parse(JSON.parse(body));
  }

  /** Polls GET /v1/images/ID every `intervalMs` until the image is ready, failed or infected. */
  async waitUntilFinal(id: string, intervalMs: number, timeoutMs: number): Promise<{ view: ImageView; observedAt: number }> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      this.statusPolls += 1;
      const response = await this.#fetch(`/v1/images/${id}`);
      const observedAt = Date.now();
      const body = await response.text();
      // 404 until the catalog has projected image.uploaded.
      if (response.status !== 404) {
        if (response.status !== 200) throw new Error(`GET /v1/images/${id} answered ${response.status}: ${body}`);
        const view = imageViewSchema.parse(JSON.parse(body));
        if (FINAL_STATUSES.has(view.status)) return { view, observedAt };
      }
      if (observedAt > deadline) throw new Error(`image ${id} was not done after ${timeoutMs / 1000} s`);
      await sleep(intervalMs);
    }
  }

  async delete(id: string): Promise<void> {
    const response = await this.#fetch(`/v1/images/${id}`, { method: 'DELETE' });
    await response.arrayBuffer();
    if (response.status !== 204) throw new Error(`DELETE /v1/images/${id} answered ${response.status}`);
  }
}

/** Uploads one image and follows it to `ready`; anything else is an error of the run, not a figure. */
async function followOne(client: BenchClient, options: PipelineRunOptions): Promise<ImageTimeline> {
  const uploadStarted = Date.now();
  const id = await client.upload(options.upload, options.contentType);
  const uploadAnswered = Date.now();
  const { view, observedAt } = await client.waitUntilFinal(id, options.pollIntervalMs, options.imageTimeoutMs);
  if (view.status !== 'ready') {
    throw new Error(`image ${id} ended ${view.status}${view.failure === null ? '' : ` at ${view.failure.stage}: ${view.failure.reason}`}`);
  }
  return {
    id,
    uploadStarted,
    uploadAnswered,
    readyRecorded: Date.parse(view.updatedAt),
    readyObserved: observedAt,
    stages: stageTimesOf(view),
    variants: view.variants.map((variant) => `${variant.name}/${variant.format}`),
  };
}

/** Runs `follow(index)` for every image, as `load` says: a closed loop (`inFlight` at a time) or an open one (at a fixed rate). */
async function startUploads(
  images: number,
  load: PipelineLoad,
  follow: (index: number) => Promise<ImageTimeline>,
): Promise<{ timelines: ImageTimeline[]; startLagsMs: number[] }> {
  if ('inFlight' in load) return { timelines: await runConcurrently(images, load.inFlight, follow), startLagsMs: [] };
  const arrivals = await runAtRate(images, load.arrivalsPerSecond, follow);
  return { timelines: arrivals.map((arrival) => arrival.result), startLagsMs: arrivals.map((arrival) => arrival.startLagMs) };
}

/**
 * Every service in this process (as `npm start` does) or each in its own
 * process (`options.copies`), on the setup's adapters; `images` uploads over
 * HTTP, started as `load` says, each followed to `ready`. One image goes
 * through first, untimed, so that start-up costs are not counted.
 */
export async function measurePipeline(setup: PipelineSetup, options: PipelineRunOptions): Promise<PipelineRun> {
  const apiKey = newApiKey();
  const env = { ...setup.env, PROGIMAGE_BOOTSTRAP_API_KEY: apiKey, PROGIMAGE_LOG_LEVEL: 'warn' };
  const host: PipelineHost =
    options.copies === null ? await hostInProcess(setup.name, env) : await hostDistributed(env, options.copies, options.progress);
  const client = new BenchClient(host.baseUrl, apiKey);
  const ids: string[] = [];
  try {
    const warmUp = await followOne(client, options);
    ids.push(warmUp.id);
    client.statusPolls = 0;

    const started = Date.now();
    const cpuBefore = host.cpuSeconds();
    const cpuByProcessBefore = host.cpuSecondsByProcess();
    let done = 0;
    const step = Math.max(1, Math.round(options.images / 10));
    const { timelines, startLagsMs } = await startUploads(options.images, options.load, async () => {
      const timeline = await followOne(client, options);
      ids.push(timeline.id);
      done += 1;
      if (done % step === 0 || done === options.images) {
        options.progress(`${setup.name}: ${done}/${options.images} ready after ${((Date.now() - started) / 1000).toFixed(1)} s`);
      }
      return timeline;
    });
    const cpuSeconds = host.cpuSeconds() - cpuBefore;
    const cpuByProcess = new Map(
      [...host.cpuSecondsByProcess()].map(([name, seconds]) => [name, seconds - (cpuByProcessBefore.get(name) ?? 0)] as const),
    );
    // Stage times the catalog had not projected when it first said ready, read now that the run is over.
    for (const [index, timeline] of timelines.entries()) {
      if (timeline.stages === null) timelines[index] = { ...timeline, stages: stageTimesOf(await client.view(timeline.id)) };
    }
    const firstUpload = Math.min(...timelines.map((timeline) => timeline.uploadStarted));
    const lastReady = Math.max(...timelines.map((timeline) => timeline.readyObserved));
    return {
      setup: setup.name,
      images: options.images,
      load: options.load,
      startLagsMs,
      seconds: (lastReady - firstUpload) / 1000,
      cpuSeconds,
      cpuMeasure: host.cpuMeasure,
      cpuByProcess,
      timelines,
      variants: warmUp.variants,
      statusPolls: client.statusPolls,
    };
  } finally {
    if (setup.deleteImagesAfter) {
      await runConcurrently(ids.length, 4, (index) => client.delete(ids[index] ?? '')).catch((error: unknown) => {
        options.progress(`${setup.name}: could not delete every benchmark image: ${String(error)}`);
      });
    }
    await host.stop();
  }
}
