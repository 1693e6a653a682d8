import { randomUUID } from 'node:crypto';
import test from 'ava';
import { z } from 'zod';
import { catalogProjector } from '../../catalog/service.ts';
import { ingestRequests } from '../../ingest/service.ts';
import { compressService } from '../../processors/compress/service.ts';
import { scanService } from '../../processors/scan/service.ts';
import { stripService } from '../../processors/strip/service.ts';
import { variantsService } from '../../processors/variants/service.ts';
import { waitUntil } from '../../lib/wait.ts';
import { API_SERVICES } from '../../services.ts';
import { bearer, errorSchema, json, request, TEST_API_KEY, upload, waitForFinalStatus, type Reply } from '../support/api.ts';
import { readFixture } from '../support/fixtures.ts';
import { startProgImage, type RunningProgImage } from '../support/progimage.ts';
import { parsePrometheusText, sampleSum } from '../support/prometheus.ts';
import { admin, printedKey, startSecured, type SecuredProgImage } from '../support/secured.ts';
import { ingestCredential, readOutcomes, requestIngest } from '../support/upstream.ts';

/**
 * Back-pressure on the real servers: the API, the catalog's projection and
 * the ingest consumers run, the pipeline's stages do not, so every upload
 * stays in flight (waiting for its scan) until the test starts them.
 */

const LIMITED = `limited-${randomUUID().slice(0, 8)}`;
const LIMIT = 2;
/** Uploads of a tenant without a limit while nothing drains: none is refused. */
const UNLIMITED_UPLOADS = 10;
const STAGES = [scanService, stripService, compressService, variantsService];

let secured: SecuredProgImage | undefined;
let stages: RunningProgImage | undefined;
test.after.always(async () => {
  await stages?.stop();
  await secured?.stop();
});

const pipelineSchema = z.object({
  backlog: z.object({ scan: z.number(), strip: z.number(), compress: z.number(), variants: z.number() }),
  inFlight: z.number(),
  imagesInFlightLimit: z.number().nullable(),
  expectedWaitSeconds: z.number().nullable(),
});
const acceptedSchema = z.object({ id: z.string(), status: z.literal('uploaded'), expectedWaitSeconds: z.number().optional() });
const readinessSchema = z.object({ status: z.string(), checks: z.record(z.string(), z.string()) });

const accepted = (reply: Reply) => {
  if (reply.status !== 202) throw new Error(`upload answered ${reply.status}: ${reply.bytes.toString('utf8')}`);
  return acceptedSchema.parse(json(reply));
};

async function pipelineOf(baseUrl: string, key: string) {
  const reply = await request(`${baseUrl}/v1/pipeline`, { headers: bearer(key) });
  if (reply.status !== 200) throw new Error(`GET /v1/pipeline answered ${reply.status}`);
  return pipelineSchema.parse(json(reply));
}

const waitForPipeline = (baseUrl: string, key: string, until: (pipeline: z.infer<typeof pipelineSchema>) => boolean, description: string) =>
  waitUntil(
    async () => {
      const pipeline = await pipelineOf(baseUrl, key);
      return until(pipeline) ? pipeline : false;
    },
    { timeoutMs: 60_000, intervalMs: 100, description },
  );

async function readiness(baseUrl: string) {
  return readinessSchema.parse(json(await request(`${baseUrl}/readyz`)));
}

test.serial(
  'a tenant at its limit of images in flight is refused with 429 and Retry-After until the pipeline drains; other tenants are not',
  async (t) => {
    t.timeout(300_000);
    secured = await startSecured('back-pressure', { PROGIMAGE_BACKLOG_SAMPLE_MS: '200', PROGIMAGE_BACKLOG_DEGRADED_SECONDS: '1' }, [
      ...API_SERVICES,
      catalogProjector,
      ingestRequests,
    ]);
    const { running, env } = secured;
    const { baseUrl } = running;
    const key = printedKey(await admin(env, 'tenant', 'create', LIMITED, '--images-in-flight', String(LIMIT)));
    const photo = await readFixture('320x240.jpg');
    const limited = { ...bearer(key) };

    const first = accepted(await upload(baseUrl, photo, 'image/jpeg', limited));
    const second = accepted(await upload(baseUrl, await readFixture('flowers.jpeg'), 'image/jpeg', limited));
    const counted = await waitForPipeline(baseUrl, key, (pipeline) => pipeline.inFlight === LIMIT, 'both uploads counted in flight');
    t.deepEqual(counted.backlog, { scan: 2, strip: 0, compress: 0, variants: 0 }, 'both wait for their scan');
    t.is(counted.imagesInFlightLimit, LIMIT);

    const refused = await upload(baseUrl, photo, 'image/jpeg', limited);
    t.is(refused.status, 429);
    const retryAfter = Number(refused.headers.get('retry-after'));
    t.true(Number.isInteger(retryAfter) && retryAfter >= 1, `Retry-After: ${refused.headers.get('retry-after') ?? 'none'}`);
    const body = errorSchema.parse(json(refused)).error;
    t.like(body, { code: 'too_many_in_flight', limit: LIMIT, inFlight: LIMIT, requested: 1 });

    const form = new FormData();
    for (let index = 0; index <= LIMIT; index++) form.append('file', new Blob([photo], { type: 'image/jpeg' }), `photo-${index}.jpg`);
    const tooMany = await request(`${baseUrl}/v1/images`, { method: 'POST', body: form, headers: limited });
    t.is(tooMany.status, 429, 'a request of three images is refused while two are in flight');

    const others: string[] = [];
    for (let index = 0; index < UNLIMITED_UPLOADS; index++) others.push(accepted(await upload(baseUrl, photo, 'image/jpeg')).id);
    // Nothing drains: the wait is at least the backlog times the time it has stood still, and a long one is told.
    await waitForPipeline(baseUrl, TEST_API_KEY, ({ expectedWaitSeconds }) => (expectedWaitSeconds ?? 0) >= 60, 'the wait to be long');
    const last = accepted(await upload(baseUrl, photo, 'image/jpeg'));
    others.push(last.id);
    t.true(
      (last.expectedWaitSeconds ?? 0) >= 60,
      `another tenant's upload is accepted, and told the wait is long: ${String(last.expectedWaitSeconds)}`,
    );

    const inFlight = LIMIT + UNLIMITED_UPLOADS + 1;
    await waitUntil(
      async () =>
        sampleSum(parsePrometheusText((await request(`${baseUrl}/metrics`)).bytes.toString('utf8')), 'progimage_pipeline_backlog_images', {
          stage: 'scan',
        }) === inFlight,
      { timeoutMs: 30_000, intervalMs: 100, description: 'the backlog gauge to count every upload waiting for its scan' },
    );
    const metrics = parsePrometheusText((await request(`${baseUrl}/metrics`)).bytes.toString('utf8'));
    for (const stage of ['strip', 'compress', 'variants'])
      t.is(sampleSum(metrics, 'progimage_pipeline_backlog_images', { stage }), 0, stage);
    t.true(sampleSum(metrics, 'progimage_pipeline_expected_wait_seconds') >= 60);
    t.is(
      metrics.filter((sample) => sample.name === 'progimage_pipeline_drain_images_per_second').length,
      0,
      'no drain rate before anything drained',
    );

    const ready = await readiness(baseUrl);
    t.is(ready.status, 'degraded');
    t.regex(
      ready.checks['pipeline-backlog'] ?? '',
      new RegExp(`^degraded: ${inFlight} images in the pipeline and none has drained yet: at least \\d+ s: past 1 s$`),
    );

    const shown = z.object({ imagesInFlightLimit: z.number(), pipeline: pipelineSchema.omit({ expectedWaitSeconds: true }) }).loose();
    t.like(shown.parse(JSON.parse(await admin(env, 'tenant', 'show', LIMITED))), {
      imagesInFlightLimit: LIMIT,
      pipeline: { backlog: { scan: 2, strip: 0, compress: 0, variants: 0 }, inFlight: 2, imagesInFlightLimit: LIMIT },
    });

    // On Kafka, the same limit: an upstream's request is rejected (nothing claimed, nothing stored), with the tenant proven.
    const outcomes = await readOutcomes(running);
    try {
      const imageId = await requestIngest(running, await ingestCredential(running, LIMITED), LIMITED, {
        key: `incoming/${LIMITED}/photo.jpg`,
      });
      const rejection = await outcomes.next(
        (outcome) => outcome.type === 'ingest.rejected' && outcome.imageId === imageId,
        'the request rejected',
        60_000,
      );
      t.like(rejection, { tenant: LIMITED, payload: { reason: 'not_admitted' } });
      t.regex(rejection.type === 'ingest.rejected' ? rejection.payload.message : '', /has 2 images in the pipeline and may have 2/);
    } finally {
      await outcomes.stop();
    }

    stages = await startProgImage(env, STAGES);
    for (const { id } of [first, second]) t.is((await waitForFinalStatus(baseUrl, id, key)).status, 'ready');
    for (const id of others) t.is((await waitForFinalStatus(baseUrl, id)).status, 'ready');
    await waitForPipeline(baseUrl, key, (pipeline) => pipeline.inFlight === 0, "the tenant's images to leave the pipeline");
    await waitUntil(async () => (await readiness(baseUrl)).status === 'ready', {
      timeoutMs: 30_000,
      intervalMs: 100,
      description: 'the pipeline drained and ready',
    });
    const again = accepted(await upload(baseUrl, photo, 'image/jpeg', limited));
    t.is(again.expectedWaitSeconds, undefined, 'a short wait is not mentioned');
    t.is((await waitForFinalStatus(baseUrl, again.id, key)).status, 'ready');
  },
);
