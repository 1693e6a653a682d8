/**
 * One side of a comparison, in a process of its own (started by
 * bench/child-process.ts): `service` hosts every ProgImage service on the
 * embedded adapters, or on the servers of the parent's setup; `bare-http`
 * serves one response from memory; `bare-sharp` runs a bare sharp loop. A process per side gives each its own peak RSS and
 * CPU time, keeps the load generator's event loop off the server's, and lets
 * settings that only take effect at process start (LD_PRELOAD,
 * UV_THREADPOOL_SIZE) differ between runs. Commands arrive over IPC.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type OutgoingHttpHeaders, type Server } from 'node:http';
import { Session } from 'node:inspector/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import sharp from 'sharp';
import { z } from 'zod';
import { imageRecordSchema } from '../catalog/image-record.ts';
import { openImagesCollection } from '../catalog/images-collection.ts';
import { blobKeys } from '../lib/blob-keys.ts';
import { loadConfig } from '../lib/config/index.ts';
import { formatForExtension } from '../lib/imaging/formats.ts';
import { canonicalise, transformHash } from '../lib/transform/canonical.ts';
import { parseOptions } from '../lib/transform/options.ts';
import { hostServices, type HostedServices } from '../lib/service/host.ts';
import { ALL_SERVICES } from '../services.ts';
import { runConcurrently } from '../lib/concurrency.ts';
import { instream } from './bare-instream.ts';
import { memorySettingsOf } from './process-stats.ts';
import type { BreakdownPiece, ChildInfo, ChildReply, SharpLoopResult, WindowResult } from './child-process.ts';

const role = z.enum(['service', 'bare-http', 'bare-sharp']).parse(process.argv[2]);

// Bench knobs, set by the parent through the environment before anything runs.
const sharpConcurrency = process.env.BENCH_SHARP_CONCURRENCY;
if (sharpConcurrency !== undefined && sharpConcurrency !== '') sharp.concurrency(Number(sharpConcurrency));
if (process.env.BENCH_SHARP_CACHE === 'off') sharp.cache(false);

const commandSchema = z.discriminatedUnion('cmd', [
  z.object({ id: z.number(), cmd: z.literal('window-start') }),
  z.object({ id: z.number(), cmd: z.literal('window-end') }),
  z.object({ id: z.number(), cmd: z.literal('stop') }),
  z.object({ id: z.number(), cmd: z.literal('serve'), body: z.instanceof(Uint8Array), headers: z.record(z.string(), z.string()) }),
  z.object({
    id: z.number(),
    cmd: z.literal('sharp-loop'),
    fixture: z.string(),
    sizes: z.array(z.tuple([z.number(), z.number()])),
    quality: z.number(),
    mozjpeg: z.boolean(),
    concurrency: z.number(),
    clamd: z.object({ host: z.string(), port: z.number() }).nullable(),
  }),
  z.object({
    id: z.number(),
    cmd: z.literal('breakdown'),
    imageId: z.string(),
    extension: z.string(),
    query: z.string(),
    iterations: z.number(),
  }),
]);
type Command = z.infer<typeof commandSchema>;

function info(): ChildInfo {
  const cache = sharp.cache();
  return {
    pid: process.pid,
    memorySettings: memorySettingsOf('self'),
    sharpConcurrency: sharp.concurrency(),
    sharpCache: cache.memory.max === 0 && cache.items.max === 0 ? 'off' : `on (${cache.memory.max} MB, ${cache.items.max} operations)`,
    uvThreadpoolSize: process.env.UV_THREADPOOL_SIZE ?? '4 (default)',
    transformSlots: hosted?.dependencies.transformSlots.concurrency ?? null,
  };
}

/** Profiles of the measured windows only (not start-up, the pipeline, or the warm-up), when BENCH_PROFILE_DIR is set. */
class WindowProfiler {
  readonly #session = new Session();
  #count = 0;

  constructor(private readonly directory: string) {
    this.#session.connect();
  }

  async start(): Promise<void> {
    await this.#session.post('Profiler.enable');
    await this.#session.post('Profiler.start');
  }

  async stop(): Promise<string> {
    const { profile } = await this.#session.post('Profiler.stop');
    this.#count += 1;
    await mkdir(this.directory, { recursive: true });
    const file = join(this.directory, `${role}-${process.pid}-${this.#count}.cpuprofile`);
    await writeFile(file, JSON.stringify(profile));
    return file;
  }
}

const profileDir = process.env.BENCH_PROFILE_DIR;
const profiler = profileDir === undefined || profileDir === '' ? null : new WindowProfiler(profileDir);

/** Peak RSS, CPU time and event-loop use between window-start and window-end. */
class Window {
  #started = 0;
  #cpu = process.cpuUsage();
  #elu = performance.eventLoopUtilization();
  #startRss = 0;
  #peakRss = 0;
  #timer: NodeJS.Timeout | null = null;

  start(): void {
    this.#started = performance.now();
    this.#cpu = process.cpuUsage();
    this.#elu = performance.eventLoopUtilization();
    this.#startRss = process.memoryUsage.rss();
    this.#peakRss = this.#startRss;
    this.#timer = setInterval(() => {
      this.#peakRss = Math.max(this.#peakRss, process.memoryUsage.rss());
    }, 50);
  }

  end(): WindowResult {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    const cpu = process.cpuUsage(this.#cpu);
    return {
      seconds: (performance.now() - this.#started) / 1000,
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
      eventLoopUtilization: performance.eventLoopUtilization(this.#elu).utilization,
      startRssBytes: this.#startRss,
      peakRssBytes: Math.max(this.#peakRss, process.memoryUsage.rss()),
      endRssBytes: process.memoryUsage.rss(),
      endHeapUsedBytes: process.memoryUsage().heapUsed,
    };
  }
}

/**
 * The transformation the transform bench asks the service for, as a bare
 * sharp pipeline: resize (fit cover) to each size in turn, JPEG at the
 * quality, with libjpeg-turbo (sharp's default) or mozjpeg; with `clamd`,
 * each operation first scans its input there (one INSTREAM), as a service
 * that scans request data must. Nothing of ProgImage's: the limit does not
 * move when ProgImage's encoder settings do.
 */
async function sharpLoop(command: Extract<Command, { cmd: 'sharp-loop' }>): Promise<SharpLoopResult> {
  const bytes = await readFile(command.fixture);
  // A fresh copy per operation, as each request's body is a buffer of its own: libvips' operation cache can never
  // recognise the input of an earlier operation.
  const { clamd } = command;
  const once = async ([width, height]: readonly [number, number]) => {
    const input = Buffer.from(bytes);
    if (clamd !== null) await instream(clamd, input);
    return sharp(input)
      .resize(width, height)
      .jpeg({ quality: command.quality, mozjpeg: command.mozjpeg })
      .toBuffer({ resolveWithObject: true });
  };
  const started = performance.now();
  const results = await runConcurrently(command.sizes.length, command.concurrency, async (index) => {
    const size = command.sizes[index];
    if (size === undefined) throw new Error(`no size ${index}`);
    const opStarted = performance.now();
    const { data, info: out } = await once(size);
    return { latency: performance.now() - opStarted, data, width: out.width, height: out.height };
  });
  const seconds = (performance.now() - started) / 1000;
  const first = results[0];
  if (first === undefined) throw new Error('the loop ran no operation');
  return {
    seconds,
    latenciesMs: results.map((result) => result.latency),
    output: first.data,
    width: first.width,
    height: first.height,
  };
}

/**
 * The pieces of a cached derived GET, each timed alone and one call at a
 * time in this process, with the same library calls the catalog's route makes.
 */
async function breakdown(command: Extract<Command, { cmd: 'breakdown' }>): Promise<BreakdownPiece[]> {
  if (hosted === null) throw new Error('breakdown: only in the service child');
  const { blobs, catalogStore } = hosted.dependencies;
  const stored = await (await openImagesCollection(await catalogStore())).get(command.imageId);
  if (stored === null) throw new Error(`breakdown: image ${command.imageId} is not in the catalog`);
  const { document } = stored;
  const query = Object.fromEntries(new URLSearchParams(command.query));
  const format = formatForExtension(command.extension);
  if (format === null) throw new Error(`breakdown: .${command.extension} is not an output format`);
  const keyOf = () => {
    const transform = canonicalise(parseOptions(query), format);
    const subject = { tenant: document.tenant, imageId: command.imageId };
    return blobKeys.transformed(subject, transformHash(`${document.tenant}/${command.imageId}`, transform), format);
  };
  const key = keyOf();
  if ((await blobs.stat(key)) === null) throw new Error(`breakdown: no stored transformation at ${key}`);
  const pieces: [string, () => unknown][] = [
    [
      "catalog record: JSON.parse + zod parse (the embedded store's get after its read)",
      () => imageRecordSchema.parse(JSON.parse(JSON.stringify(document))),
    ],
    ['options: parseOptions + canonicalise + transformHash', keyOf],
    ['blob store: stat (open, read, parse the metadata file)', () => blobs.stat(key)],
    [
      'blob store: getStream (metadata again, open the data file), read to the end',
      async () => {
        const stream = await blobs.getStream(key);
        let bytes = 0;
        for await (const chunk of stream) bytes += (chunk as Buffer).length;
        return bytes;
      },
    ],
  ];
  const results: BreakdownPiece[] = [];
  for (const [name, piece] of pieces) {
    for (let i = 0; i < 100; i += 1) await piece();
    const started = performance.now();
    const cpu = process.cpuUsage();
    for (let i = 0; i < command.iterations; i += 1) await piece();
    const used = process.cpuUsage(cpu);
    results.push({
      name,
      wallUs: ((performance.now() - started) * 1000) / command.iterations,
      cpuUs: (used.user + used.system) / command.iterations,
    });
  }
  return results;
}

let hosted: HostedServices | null = null;
let dataDir: string | null = null;
let bareServer: Server | null = null;
const window = new Window();

function serveFromMemory(body: Buffer, headers: Readonly<Record<string, string>>): Promise<number> {
  const head: OutgoingHttpHeaders = { ...headers, 'content-length': body.length };
  const server = createServer((_request, response) => {
    response.writeHead(200, head);
    response.end(body);
  });
  bareServer = server;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      resolve((server.address() as AddressInfo).port);
    });
  });
}

let stopping: Promise<void> | null = null;

/** Stops what this child runs, once, whether the parent asked or went away. */
function stop(): Promise<void> {
  stopping ??= stopRunning();
  return stopping;
}

async function stopRunning(): Promise<void> {
  if (hosted !== null) await hosted.stop();
  if (dataDir !== null) await rm(dataDir, { recursive: true, force: true });
  const server = bareServer;
  if (server !== null) {
    server.closeAllConnections();
    await new Promise<void>((resolve) =>
      server.close(() => {
        resolve();
      }),
    );
  }
}

async function handle(command: Command): Promise<unknown> {
  switch (command.cmd) {
    case 'window-start':
      await profiler?.start();
      window.start();
      return null;
    case 'window-end': {
      const result = window.end();
      const profile = await profiler?.stop();
      return profile === undefined ? result : { ...result, profile };
    }
    case 'serve':
      return {
        port: await serveFromMemory(Buffer.from(command.body.buffer, command.body.byteOffset, command.body.byteLength), command.headers),
      };
    case 'sharp-loop':
      return sharpLoop(command);
    case 'breakdown':
      return breakdown(command);
    case 'stop':
      await stop();
      return null;
  }
}

function reply(message: ChildReply): void {
  if (process.connected) process.send?.(message);
}

// The parent gone without a stop (a signal, a crash): stop too, rather than run on with nobody to answer.
const stopWithoutParent = (): void => {
  void stop().finally(() => process.exit(0));
};
process.on('disconnect', stopWithoutParent);
// Seen once: a parent stopped by a signal while the service started, and no 'disconnect' came. So look as well.
setInterval(() => {
  if (!process.connected) stopWithoutParent();
}, 1000).unref();

process.on('message', (message: unknown) => {
  const parsed = commandSchema.safeParse(message);
  if (!parsed.success) {
    reply({ type: 'reply', id: -1, ok: false, error: `a command the child does not know: ${parsed.error.message}` });
    return;
  }
  const command = parsed.data;
  handle(command).then(
    (result) => {
      reply({ type: 'reply', id: command.id, ok: true, result });
      if (command.cmd === 'stop') process.disconnect();
    },
    (error: unknown) => {
      reply({ type: 'reply', id: command.id, ok: false, error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
    },
  );
});

/** The service's PROGIMAGE_* settings: the parent's setup, else npm start's embedded adapters under a directory of this process's own. */
async function serviceEnvironment(): Promise<Record<string, string>> {
  const given = process.env.BENCH_SERVICE_ENV;
  if (given !== undefined && given !== '') return z.record(z.string(), z.string()).parse(JSON.parse(given));
  dataDir = await mkdtemp(join(tmpdir(), 'progimage-bench-'));
  // Scanning is off (no clamd on the embedded adapters), so POST /v1/transform scans nothing.
  return { PROGIMAGE_DATA_DIR: dataDir, PROGIMAGE_SCAN: 'off' };
}

let port: number | null = null;
if (role === 'service') {
  const config = loadConfig({
    ...(await serviceEnvironment()),
    PROGIMAGE_BOOTSTRAP_API_KEY: process.env.BENCH_API_KEY,
    PROGIMAGE_LOG_LEVEL: 'warn',
    PROGIMAGE_HTTP_HOST: '127.0.0.1',
    PROGIMAGE_HTTP_PORT: '0',
    ...(process.env.BENCH_TRANSFORM_SLOTS === undefined ? {} : { PROGIMAGE_MAX_CONCURRENT_TRANSFORMS: process.env.BENCH_TRANSFORM_SLOTS }),
  });
  hosted = await hostServices(`bench-${role}`, ALL_SERVICES, config);
  port = (hosted.server.address() as AddressInfo).port;
}
reply({ type: 'ready', info: info(), port });
