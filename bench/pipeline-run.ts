import { newApiKey } from '../lib/auth/keys.ts';
import { z } from 'zod';
import { runConcurrently } from '../lib/concurrency.ts';
import { runAtRate } from './arrivals.ts';
import { hostDistributed, hostInProcess, type PipelineHost } from './pipeline-hosts.ts';
import type { PipelineSetup } from './pipeline-setups.ts';
import { FINAL_OUTCOMES, OutcomeReceiver } from './ready-webhooks.ts';
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
const webhookSchema = z.object({ secret: z.string() }).loose();

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

  /** Registers a webhook endpoint for the final outcomes; resolves with its secret. */
  async registerWebhook(url: string): Promise<string> {
    const response = await this.#fetch('/v1/webhooks', {
      method: 'POST',
      body: JSON.stringify({ url, events: FINAL_OUTCOMES }),
      headers: { 'Content-Type': 'application/json' },
    });
    const body = await response.text();
    if (response.status !== 201) throw new Error(`POST /v1/webhooks answered ${response.status}: ${body}`);
    return webhookSchema.parse(JSON.parse(body)).secret;
  }

  async view(id: string): Promise<ImageView> {
    const response = await this.#fetch(`/v1/images/${id}`);
    const body = await response.text();
    if (response.status !== 200) throw new Error(`GET /v1/images/${id} answered ${response.status}: ${body}`);
    return imageViewSchema.parse(JSON.parse(body));
  }

  async delete(id: string): Promise<void> {
    const response = await this.#fetch(`/v1/images/${id}`, { method: 'DELETE' });
    await response.arrayBuffer();
    if (response.status !== 204) throw new Error(`DELETE /v1/images/${id} answered ${response.status}`);
  }
}

/** An image followed to `ready`: the client's clock only. */
type FollowedImage = Pick<ImageTimeline, 'id' | 'uploadStarted' | 'uploadAnswered' | 'readyObserved'>;

/** Uploads one image and waits for its webhook; an image that does not end `ready` is an error of the run, not a figure. */
async function followOne(client: BenchClient, outcomes: OutcomeReceiver, options: PipelineRunOptions): Promise<FollowedImage> {
  const uploadStarted = Date.now();
  const id = await client.upload(options.upload, options.contentType);
  const uploadAnswered = Date.now();
  const outcome = await outcomes.outcomeOf(id, options.imageTimeoutMs);
  if (outcome.type !== 'image.ready') {
    const { failure } = await client.view(id);
    throw new Error(`image ${id}: ${outcome.type}${failure === null ? '' : ` at ${failure.stage}: ${failure.reason}`}`);
  }
  return { id, uploadStarted, uploadAnswered, readyObserved: outcome.receivedAt };
}

/** The catalog's side of a followed image, read once the timed run is over. */
async function timelineOf(client: BenchClient, image: FollowedImage): Promise<ImageTimeline> {
  const view = await client.view(image.id);
  return {
    ...image,
    readyRecorded: Date.parse(view.updatedAt),
    stages: stageTimesOf(view),
    variants: view.variants.map((variant) => `${variant.name}/${variant.format}`),
  };
}

/** Runs `follow(index)` for every image, as `load` says: a closed loop (`inFlight` at a time) or an open one (at a fixed rate). */
async function startUploads(
  images: number,
  load: PipelineLoad,
  follow: (index: number) => Promise<FollowedImage>,
): Promise<{ followed: FollowedImage[]; startLagsMs: number[] }> {
  if ('inFlight' in load) return { followed: await runConcurrently(images, load.inFlight, follow), startLagsMs: [] };
  const arrivals = await runAtRate(images, load.arrivalsPerSecond, follow);
  return { followed: arrivals.map((arrival) => arrival.result), startLagsMs: arrivals.map((arrival) => arrival.startLagMs) };
}

/** PROGIMAGE_FETCH_ALLOW_HOSTS with `host` added: the setup's own entries kept. */
function allowingHost(env: Readonly<Record<string, string>>, host: string): string {
  const known = env.PROGIMAGE_FETCH_ALLOW_HOSTS;
  return known === undefined || known === '' ? host : `${known},${host}`;
}

/**
 * Every service in this process (as `npm start` does) or each in its own
 * process (`options.copies`), on the setup's adapters; `images` uploads over
 * HTTP, started as `load` says, each followed to `ready` by its webhook. One
 * image goes through first, untimed, so that start-up costs are not counted.
 * The catalog's record of each image is read after the timed part.
 */
export async function measurePipeline(setup: PipelineSetup, options: PipelineRunOptions): Promise<PipelineRun> {
  const apiKey = newApiKey();
  const outcomes = await OutcomeReceiver.start();
  const env = {
    ...setup.env,
    PROGIMAGE_BOOTSTRAP_API_KEY: apiKey,
    PROGIMAGE_LOG_LEVEL: 'warn',
    PROGIMAGE_FETCH_ALLOW_HOSTS: allowingHost(setup.env, outcomes.host),
  };
  let host: PipelineHost | undefined;
  const ids: string[] = [];
  try {
    host = options.copies === null ? await hostInProcess(setup.name, env) : await hostDistributed(env, options.copies, options.progress);
    const client = new BenchClient(host.baseUrl, apiKey);
    try {
      outcomes.trust(await client.registerWebhook(outcomes.url));
      const warmUp = await timelineOf(client, await followOne(client, outcomes, options));
      ids.push(warmUp.id);

      const started = Date.now();
      const cpuBefore = host.cpuSeconds();
      const cpuByProcessBefore = host.cpuSecondsByProcess();
      let done = 0;
      const step = Math.max(1, Math.round(options.images / 10));
      const { followed, startLagsMs } = await startUploads(options.images, options.load, async () => {
        const image = await followOne(client, outcomes, options);
        ids.push(image.id);
        done += 1;
        if (done % step === 0 || done === options.images) {
          options.progress(`${setup.name}: ${done}/${options.images} ready after ${((Date.now() - started) / 1000).toFixed(1)} s`);
        }
        return image;
      });
      const cpuSeconds = host.cpuSeconds() - cpuBefore;
      const cpuByProcess = new Map(
        [...host.cpuSecondsByProcess()].map(([name, seconds]) => [name, seconds - (cpuByProcessBefore.get(name) ?? 0)] as const),
      );
      const timelines: ImageTimeline[] = [];
      for (const image of followed) timelines.push(await timelineOf(client, image));
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
      };
    } finally {
      if (setup.deleteImagesAfter) {
        await runConcurrently(ids.length, 4, (index) => client.delete(ids[index] ?? '')).catch((error: unknown) => {
          options.progress(`${setup.name}: could not delete every benchmark image: ${String(error)}`);
        });
      }
    }
  } finally {
    await host?.stop();
    await outcomes.close();
  }
}
