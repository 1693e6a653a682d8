/**
 * `npm run bench:load`: many concurrent uploads for a minute, then the wait
 * until the pipeline has made every accepted image final, then reads of the
 * uploaded images in a few formats (issue 18, item 8). It reports the
 * uploads' outcomes and latencies, what the service said of its backlog, how
 * the backlog drained, the reads, and the service process's memory. A
 * report: it exits 0 however slow anything is, and non-zero only when the run
 * itself fails. See docs/BENCHMARKS.md.
 */
import { z } from 'zod';
import { runConcurrently } from '../lib/concurrency.ts';
import { AnswerTally } from './answer-tally.ts';
import { BENCH_API_KEY, BenchChild, type ChildSettings, type WindowResult } from './child-process.ts';
import { parseCommandLine, runBenchmark, wholeNumber } from './command-line.ts';
import { waitUntilFinal } from './drain-watch.ts';
import { prepareRequest, runLoad, type HttpResponse } from './http-load.ts';
import { openSetup, parseSetups, SETUP_OPTIONS, SETUP_USAGE, type SetupName } from './pipeline-setups.ts';
import { ServiceSampler } from './service-sampler.ts';
import {
  CHILD_OPTIONS,
  CHILD_SETTINGS_USAGE,
  configName,
  loadAverage,
  parseChildSettings,
  progress,
  settingsLine,
  startedNow,
} from './side-options.ts';
import { loadUploadMix, type UploadFixture } from './upload-mix.ts';
import { READ_FORMATS, report, type LoadRun } from './upload-load-report.ts';
import { uploadReady } from './upload-ready.ts';

const HOST = '127.0.0.1';

const USAGE = `Usage: npm run bench:load -- [options]

  --seconds N            how long the uploads go on (default 60)
  --concurrency N        keep-alive connections, each with one request in flight, for the uploads and for the
                         reads (default 32)
  --read-seconds N       how long the reads of the uploaded images go on, once every image is final (default 15)
  --drain-minutes N      how long to wait for every accepted image to be final; then the report says what was
                         left (default 60)
${SETUP_USAGE}
${CHILD_SETTINGS_USAGE}

Uploads: raw bodies to POST /v1/images, the fixtures of bench/upload-mix.ts in turn. Reads: GET /v1/images/ID.EXT of
the images that ended ready, in ${READ_FORMATS.join(', ')} in turn.`;

interface Options {
  readonly seconds: number;
  readonly concurrency: number;
  readonly readSeconds: number;
  readonly drainMinutes: number;
  readonly setups: readonly SetupName[];
  readonly configs: readonly ChildSettings[];
}

function parseOptions(argv: readonly string[], env: NodeJS.ProcessEnv): Options | 'help' {
  const values = parseCommandLine(
    argv,
    {
      ...CHILD_OPTIONS,
      ...SETUP_OPTIONS,
      seconds: { type: 'string' },
      concurrency: { type: 'string' },
      'read-seconds': { type: 'string' },
      'drain-minutes': { type: 'string' },
    },
    USAGE,
  );
  if (values === 'help') return 'help';
  return {
    seconds: wholeNumber('seconds', values.seconds, 60, 1, USAGE),
    concurrency: wholeNumber('concurrency', values.concurrency, 32, 1, USAGE),
    readSeconds: wholeNumber('read-seconds', values['read-seconds'], 15, 0, USAGE),
    drainMinutes: wholeNumber('drain-minutes', values['drain-minutes'], 60, 1, USAGE),
    setups: parseSetups(values, env, USAGE),
    configs: parseChildSettings(values, USAGE),
  };
}

/** expectedWaitSeconds is new (issue 18, item 7): taken when it is a number, whatever else the body holds. */
const acceptedSchema = z.object({ id: z.string(), expectedWaitSeconds: z.unknown().optional() }).loose();

/** The uploads' answers: the outcomes and latencies, the accepted ids in the order they were answered, the waits they announced. */
class UploadAnswers {
  readonly tally = new AnswerTally(202);
  /** The images uploaded to ready before the load, untimed. */
  readonly warmUpIds: string[] = [];
  readonly ids: string[] = [];
  /** expectedWaitSeconds of the 202 bodies that had it. */
  readonly expectedWaits: number[] = [];

  record(answer: HttpResponse | Error, latencyMs: number): void {
    this.tally.add(answer, latencyMs);
    if (answer instanceof Error || answer.status !== 202 || answer.body === null) return;
    const accepted = acceptedSchema.parse(JSON.parse(answer.body.toString('utf8')));
    this.ids.push(accepted.id);
    if (typeof accepted.expectedWaitSeconds === 'number') this.expectedWaits.push(accepted.expectedWaitSeconds);
  }
}

/** GETs of the images that ended ready, each in every format in turn, for --read-seconds. */
async function readImages(name: string, port: number, ids: readonly string[], options: Options): Promise<NonNullable<LoadRun['reads']>> {
  progress(`${name}: reading ${ids.length} ready images in ${READ_FORMATS.join(', ')} for ${options.readSeconds} s`);
  const tallies = READ_FORMATS.map(() => new AnswerTally(200));
  const result = await runLoad({
    host: HOST,
    ports: [port],
    request: (index) => {
      const id = ids[Math.floor(index / READ_FORMATS.length) % ids.length] ?? '';
      return prepareRequest('GET', `/v1/images/${id}.${READ_FORMATS[index % READ_FORMATS.length] ?? ''}`, HOST, port, {
        apiKey: BENCH_API_KEY,
      });
    },
    connections: options.concurrency,
    stop: { durationMs: options.readSeconds * 1000 },
    record: (answer, latencyMs, index) => tallies[index % READ_FORMATS.length]?.add(answer, latencyMs),
  });
  return { seconds: result.seconds, byFormat: tallies };
}

/** The phases on a started service: uploads, the wait until every accepted image is final, reads. */
async function loadService(
  name: string,
  service: BenchChild,
  options: Options,
  mix: readonly UploadFixture[],
  uploads: UploadAnswers,
): Promise<LoadRun> {
  const port = service.port;
  if (port === null) throw new Error('the service child has no port');
  const base = `http://${HOST}:${port}`;
  for (const fixture of mix) uploads.warmUpIds.push(await uploadReady(base, fixture.bytes, fixture.contentType, BENCH_API_KEY));

  const requests = mix.map((fixture) =>
    prepareRequest('POST', '/v1/images', HOST, port, {
      body: { bytes: fixture.bytes, contentType: fixture.contentType },
      apiKey: BENCH_API_KEY,
    }),
  );
  const uploadsStarted = Date.now();
  let uploadsEnded = uploadsStarted;
  const {
    result: [uploading, draining],
    samples,
  } = await ServiceSampler.during(base, BENCH_API_KEY, async (sampler) => {
    const backlog = () => (sampler.lastBacklog === null ? '' : `, backlog ${sampler.lastBacklog}`);
    progress(`${name}: uploading for ${options.seconds} s on ${options.concurrency} connections (load average ${loadAverage()})`);
    const ticker = setInterval(() => {
      progress(`${name}: ${uploads.tally.requests} uploads answered, ${uploads.ids.length} accepted${backlog()}`);
    }, 10_000);
    const uploaded = await measured(service, () =>
      runLoad({
        host: HOST,
        ports: [port],
        request: (index) => requests[index % requests.length] ?? Buffer.alloc(0),
        connections: options.concurrency,
        stop: { durationMs: options.seconds * 1000 },
        record: (answer, latencyMs) => {
          uploads.record(answer, latencyMs);
        },
      }),
    ).finally(() => {
      clearInterval(ticker);
    });
    uploadsEnded = Date.now();
    progress(`${name}: ${uploads.ids.length} uploads accepted; waiting until every one is final (at most ${options.drainMinutes} min)`);
    const drained = await measured(service, () =>
      waitUntilFinal(base, BENCH_API_KEY, uploads.ids, {
        timeoutMs: options.drainMinutes * 60_000,
        progress: (finals, pending) => {
          progress(`${name}: ${finals} final, ${pending} to go${backlog()}`);
        },
      }),
    );
    return [uploaded, drained] as const;
  });

  const ready = draining.result.finals.filter((image) => image.status === 'ready').map((image) => image.id);
  const reading =
    ready.length === 0 || options.readSeconds === 0 ? null : await measured(service, () => readImages(name, port, ready, options));
  return {
    name,
    settingsLine: `settings     ${settingsLine([service])}`,
    uploads: { tally: uploads.tally, seconds: uploading.result.seconds, expectedWaits: uploads.expectedWaits },
    uploadsStarted,
    uploadsEnded,
    samples,
    drain: draining.result,
    reads: reading?.result ?? null,
    windows: { uploads: uploading.window, drain: draining.window, reads: reading?.window ?? null },
  };
}

async function runOne(options: Options, setupName: SetupName, settings: ChildSettings, mix: readonly UploadFixture[]): Promise<LoadRun> {
  const name = `${setupName}, ${configName(settings)}`;
  const setup = await openSetup(setupName, progress);
  try {
    progress(`${name}: starting the service; one upload of each fixture to ready first (untimed)`);
    const service = await BenchChild.start('service', settings, setup.env);
    const uploads = new UploadAnswers();
    try {
      return await loadService(name, service, options, mix, uploads);
    } finally {
      if (setup.deleteImagesAfter) {
        const ids = [...uploads.warmUpIds, ...uploads.ids];
        progress(`${name}: deleting the ${ids.length} images through the API`);
        await deleteImages(service.port, ids).catch((error: unknown) => {
          progress(`${name}: could not delete every benchmark image: ${String(error)}`);
        });
      }
      await service.stop();
    }
  } finally {
    await setup.remove();
  }
}

/** The work, and the service process's memory and CPU while it ran. */
async function measured<T>(service: BenchChild, work: () => Promise<T>): Promise<{ readonly result: T; readonly window: WindowResult }> {
  await service.windowStart();
  const result = await work();
  return { result, window: await service.windowEnd() };
}

/** Deletes the run's images from a shared, long-lived stack. */
async function deleteImages(port: number | null, ids: readonly string[]): Promise<void> {
  if (port === null) return;
  await runConcurrently(ids.length, 4, async (index) => {
    const response = await fetch(`http://${HOST}:${port}/v1/images/${ids[index] ?? ''}`, {
      method: 'DELETE',
      headers: { Authorization: `Bearer ${BENCH_API_KEY}` },
    });
    await response.arrayBuffer();
    if (response.status !== 204 && response.status !== 404) throw new Error(`DELETE answered ${response.status}`);
  });
}

async function main(options: Options): Promise<void> {
  const started = startedNow();
  const mix = await loadUploadMix();
  const runs: LoadRun[] = [];
  for (const setup of options.setups) {
    for (const settings of options.configs) runs.push(await runOne(options, setup, settings, mix));
  }
  console.log(report(options, mix, runs, started));
}

await runBenchmark(() => parseOptions(process.argv.slice(2), process.env), USAGE, main);
