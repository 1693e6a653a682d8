import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import test, { type ExecutionContext } from 'ava';
import sharp from 'sharp';
import { stopProcess } from '../../infra/local/processes.ts';
import { startStack } from '../../infra/local/stack-runner.ts';
import { runConcurrently } from '../../lib/concurrency.ts';
import { waitUntil } from '../../lib/wait.ts';
import { errorSchema, imageSchema, json, request, upload, uploadAccepted, waitForFinalStatus, type ImageJson } from '../support/api.ts';
import { readFixture } from '../support/fixtures.ts';
import { jpegWithEicarComment, pixelDifference } from '../support/images.ts';
import { startSecured, type SecuredProgImage } from '../support/secured.ts';

/**
 * The servers ProgImage depends on go away and come back, on the real local
 * stack: every upload that got a 202 ends ready (or infected) with exactly one
 * catalog document and intact bytes, and one that did not get a 202 left
 * nothing behind. These stop the shared servers, so they run only where the
 * suites run one file at a time (npm test); each starts what it stopped.
 */

let secured: Promise<SecuredProgImage> | undefined;
const progimage = () => (secured ??= startSecured('faults'));
test.after.always(async () => {
  await startStack(() => undefined); // whatever a failed test left stopped
  if (secured !== undefined) await (await secured).stop();
});

const FINAL = new Set(['ready', 'failed', 'infected']);

async function imageOf(baseUrl: string, id: string): Promise<ImageJson | null> {
  const reply = await request(`${baseUrl}/v1/images/${id}`);
  return reply.status === 200 ? imageSchema.parse(json(reply)) : null;
}

/** Every id of the tenant's catalog, page by page. */
async function catalogIds(baseUrl: string): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | null = null;
  do {
    const page = json(await request(`${baseUrl}/v1/images?limit=100${cursor === null ? '' : `&cursor=${cursor}`}`)) as {
      images: { id: string }[];
      next: string | null;
    };
    ids.push(...page.images.map((image) => image.id));
    cursor = page.next;
  } while (cursor !== null);
  return ids;
}

/**
 * Each id is in the catalog once and ended as expected; each ready one serves
 * its master intact: the bytes hash to the ETag the catalog gave them, decode
 * to the fixture's pixels, and are the same bytes for every upload of the
 * fixture (the pipeline is deterministic, so a fault that mangled one shows).
 */
async function assertIntact(t: ExecutionContext, baseUrl: string, expected: ReadonlyMap<string, 'ready' | 'infected'>, fixture: Buffer) {
  const final = new Map<string, ImageJson>();
  for (const id of expected.keys()) final.set(id, await waitForFinalStatus(baseUrl, id));
  const listed = await catalogIds(baseUrl);
  const masters = new Set<string>();
  for (const [id, status] of expected) {
    t.is(listed.filter((one) => one === id).length, 1, `${id}: one catalog document`);
    const image = final.get(id);
    if (image === undefined) throw new Error(`${id} was waited for`);
    t.is(image.status, status, `${id}: ${JSON.stringify(image.failure)}`);
    const served = await request(`${baseUrl}/v1/images/${id}.jpg`);
    if (status === 'infected') {
      t.is(served.status, 410);
      continue;
    }
    t.is(served.status, 200, served.bytes.toString('utf8', 0, 200));
    const sha256 = createHash('sha256').update(served.bytes).digest('hex');
    t.is(served.headers.get('etag'), `"${sha256}"`, `${id}: the bytes are those the catalog recorded`);
    masters.add(sha256);
    t.deepEqual(
      await sharp(served.bytes)
        .metadata()
        .then(({ width, height }) => [width, height]),
      [320, 240],
    );
    t.true((await pixelDifference(served.bytes, fixture)) < 8, `${id}: the served image is the uploaded one`);
  }
  t.true(masters.size <= 1, `every upload of the same bytes has the same master (${masters.size} different)`);
}

test.serial('clamd stopped: uploads are accepted, wait unscanned and unserved, and all finish once it is back', async (t) => {
  t.timeout(600_000);
  const { running } = await progimage();
  const { baseUrl } = running;
  const jpeg = await readFixture('320x240.jpg');
  await stopProcess('clamd');
  t.teardown(() => startStack(() => undefined));

  const clean = await runConcurrently(6, 3, () => uploadAccepted(baseUrl, jpeg));
  const infected = await uploadAccepted(baseUrl, await jpegWithEicarComment());
  const ids = [...clean, infected];
  // The scan stage keeps asking clamd; meanwhile nothing may be scanned, finished or served.
  const watchUntil = Date.now() + 8000;
  await waitUntil(
    async () => {
      for (const id of ids) {
        const image = await imageOf(baseUrl, id);
        if (image !== null) {
          t.false(FINAL.has(image.status) || image.stages.scan.verdict !== null, `${id} is ${image.status} while clamd is down`);
        }
        t.not((await request(`${baseUrl}/v1/images/${id}.webp`)).status, 200, `${id} is served while clamd is down`);
      }
      return Date.now() >= watchUntil;
    },
    { timeoutMs: 60_000, intervalMs: 500, description: 'the outage to last' },
  );

  await startStack(() => undefined);
  await assertIntact(t, baseUrl, new Map([...clean.map((id) => [id, 'ready'] as const), [infected, 'infected'] as const]), jpeg);
});

test.serial(
  'MinIO stopped: an upload is a 503 that leaves nothing behind; images in the pipeline wait and finish once it is back',
  async (t) => {
    t.timeout(600_000);
    const { running } = await progimage();
    const { baseUrl } = running;
    const jpeg = await readFixture('320x240.jpg');
    const inPipeline = await runConcurrently(4, 4, () => uploadAccepted(baseUrl, jpeg));
    const before = await catalogIds(baseUrl);
    await stopProcess('minio');
    t.teardown(() => startStack(() => undefined));

    const refused = await upload(baseUrl, jpeg, 'image/jpeg');
    t.is(refused.status, 503, refused.bytes.toString('utf8', 0, 300));
    t.is(errorSchema.parse(json(refused)).error.code, 'dependency_unavailable');
    t.truthy(refused.headers.get('retry-after'));

    await startStack(() => undefined);
    const known = new Set([...before, ...inPipeline]);
    t.deepEqual(
      (await catalogIds(baseUrl)).filter((id) => !known.has(id)),
      [],
      'the refused upload recorded nothing',
    );
    const after = await uploadAccepted(baseUrl, jpeg);
    await assertIntact(t, baseUrl, new Map([...inPipeline, after].map((id) => [id, 'ready'] as const)), jpeg);
  },
);

test.serial(
  'Kafka restarted during a burst: every upload answered 202 ends ready once; those refused meanwhile succeed when retried',
  async (t) => {
    t.timeout(900_000);
    const { running } = await progimage();
    const { baseUrl } = running;
    const jpeg = await readFixture('320x240.jpg');
    const accepted: string[] = [];
    let refusals = 0;
    let restarted: Promise<void> | undefined;
    /** One upload as a careful client makes it: a 503 is retried after its Retry-After, with the same Idempotency-Key. */
    const uploadUntilAccepted = async (index: number) => {
      const key = `kafka-restart-${index}-${Date.now()}`;
      for (;;) {
        const reply = await upload(baseUrl, jpeg, 'image/jpeg', { 'Idempotency-Key': key });
        if (reply.status === 202) {
          accepted.push((json(reply) as { id: string }).id);
          if (accepted.length === 5) restarted ??= restartKafka();
          return;
        }
        t.is(reply.status, 503, reply.bytes.toString('utf8', 0, 300));
        refusals += 1;
        await sleep(1000 * Number(reply.headers.get('retry-after') ?? '1')); // as Retry-After asks: the client behaviour under test
      }
    };
    const restartKafka = async () => {
      await stopProcess('kafka');
      await startStack(() => undefined);
    };
    t.teardown(() => startStack(() => undefined));
    await runConcurrently(30, 3, async (index) => uploadUntilAccepted(index));
    await restarted;
    t.log(`30 uploads accepted, ${refusals} refusals with 503 while Kafka was down or coming back`);
    t.is(new Set(accepted).size, 30);
    await assertIntact(t, baseUrl, new Map(accepted.map((id) => [id, 'ready'] as const)), jpeg);
  },
);
