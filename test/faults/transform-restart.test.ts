import type { AddressInfo } from 'node:net';
import test from 'ava';
import { z } from 'zod';
import { catalogApi, catalogProjector } from '../../catalog/service.ts';
import { ingestApi } from '../../ingest/service.ts';
import { isolatedDeployment } from '../../infra/local/deployment.ts';
import { localStackEnvironment } from '../../infra/local/settings.ts';
import { loadConfig } from '../../lib/config/index.ts';
import { hostServices } from '../../lib/service/host.ts';
import { waitUntil } from '../../lib/wait.ts';
import { compressService } from '../../processors/compress/service.ts';
import { scanService } from '../../processors/scan/service.ts';
import { stripService } from '../../processors/strip/service.ts';
import { variantsService } from '../../processors/variants/service.ts';
import { json, request, TEST_AUTH_ENV, uploadAccepted, waitForFinalStatus } from '../support/api.ts';
import { spawnChildService } from '../support/child-service.ts';
import { startFixtureServer } from '../support/fixture-server.ts';
import { readFixture } from '../support/fixtures.ts';
import { serverConfig } from '../support/servers.ts';

const TRANSFORM_MAIN = 'processors/transform/main.ts';
const ITEMS_PER_BATCH = 100;
const STORED_IMAGES = 10;
const URL_FIXTURES = ['320x240.jpg', '4.webp', 'with-alpha.png', 'Landscape_3.jpg', 'grey-plus-alpha.gif'];
/** Kill the transform processor once this many items of both batches are done, and others are not. */
const KILL_AFTER_DONE = 30;
/** After a kill -9 the broker keeps the dead member for its session timeout (30 s) before it rebalances. */
const READY_TIMEOUT_MS = 120_000;

const batchSchema = z
  .object({
    id: z.string(),
    status: z.string(),
    counts: z.object({ total: z.number(), done: z.number(), failed: z.number(), pending: z.number() }),
  })
  .loose();
const pageSchema = batchSchema.extend({
  items: z.array(
    z.object({ index: z.number(), status: z.string(), failure: z.object({ code: z.string(), reason: z.string() }).nullable() }),
  ),
  next: z.string().nullable(),
});

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

async function createBatch(baseUrl: string, body: unknown): Promise<string> {
  const reply = await request(`${baseUrl}/v1/batches`, {
    method: 'POST',
    body: JSON.stringify(body),
    headers: { 'Content-Type': 'application/json' },
  });
  if (reply.status !== 202) throw new Error(`POST /v1/batches answered ${reply.status}: ${reply.bytes.toString('utf8')}`);
  return batchSchema.parse(json(reply)).id;
}

const countsOf = async (baseUrl: string, id: string) => batchSchema.parse(json(await request(`${baseUrl}/v1/batches/${id}`))).counts;

/** Every item of a batch, page by page. */
async function itemsOf(baseUrl: string, id: string) {
  const items: z.infer<typeof pageSchema>['items'] = [];
  let cursor: string | null = null;
  do {
    const page = pageSchema.parse(json(await request(`${baseUrl}/v1/batches/${id}?limit=50${cursor === null ? '' : `&cursor=${cursor}`}`)));
    items.push(...page.items);
    cursor = page.next;
  } while (cursor !== null);
  return items;
}

test('batches over stored images and URLs complete with correct counts while processors/transform is killed and restarted', async (t) => {
  t.timeout(600_000);
  const servers = await serverConfig();
  const deployment = isolatedDeployment('batch-restart', servers);
  t.teardown(() => deployment.remove());
  const fixtures = await startFixtureServer();
  t.teardown(() => fixtures.close());
  const stack = process.env.PROGIMAGE_KAFKA_BROKERS === undefined ? { ...process.env, ...localStackEnvironment() } : process.env;
  const env = {
    ...stack,
    ...deployment.env,
    ...TEST_AUTH_ENV,
    PROGIMAGE_SCAN: 'on',
    PROGIMAGE_LOG_LEVEL: 'warn',
    PROGIMAGE_FETCH_ALLOW_HOSTS: fixtures.host,
  };

  // Everything but the transform processor in this process; it runs in a process of its own, which the test kills.
  const config = loadConfig({ ...env, PROGIMAGE_HTTP_HOST: '127.0.0.1', PROGIMAGE_HTTP_PORT: '0' });
  const hosted = await hostServices(
    'batch-restart-test',
    [catalogApi, catalogProjector, ingestApi, scanService, stripService, compressService, variantsService],
    config,
  );
  t.teardown(() => hosted.stop());
  const baseUrl = `http://127.0.0.1:${(hosted.server.address() as AddressInfo).port}`;

  const jpeg = await readFixture('320x240.jpg');
  const ids = await Promise.all(Array.from({ length: STORED_IMAGES }, () => uploadAccepted(baseUrl, jpeg, 'image/jpeg')));
  for (const id of ids) t.is((await waitForFinalStatus(baseUrl, id)).status, 'ready');

  const transforms = [
    { w: 120, format: 'webp' },
    { w: 60, grayscale: true, format: 'jpeg' },
  ];
  const stored = await createBatch(baseUrl, {
    images: Array.from({ length: ITEMS_PER_BATCH }, (_, index) => ids[index % STORED_IMAGES]),
    transforms,
  });
  const remote = await createBatch(baseUrl, {
    urls: Array.from({ length: ITEMS_PER_BATCH }, (_, index) => fixtures.url(URL_FIXTURES[index % URL_FIXTURES.length] ?? '')),
    transforms,
  });
  const done = async () => (await countsOf(baseUrl, stored)).done + (await countsOf(baseUrl, remote)).done;

  const first = await spawnChildService(TRANSFORM_MAIN, env);
  t.teardown(() => first.stop());
  await first.ready(READY_TIMEOUT_MS);
  await waitUntil(async () => (await done()) >= KILL_AFTER_DONE, {
    timeoutMs: 240_000,
    intervalMs: 50,
    description: `${KILL_AFTER_DONE} items done`,
  });
  const killed = await first.kill();
  const doneAtKill = await done();
  const killedAt = Date.now();
  t.is(killed.signal, 'SIGKILL');
  t.true(doneAtKill < 2 * ITEMS_PER_BATCH, 'killed while items are still to do');
  t.log(`killed the transform processor with ${doneAtKill} of ${2 * ITEMS_PER_BATCH} items done`);

  const second = await spawnChildService(TRANSFORM_MAIN, env);
  t.teardown(() => second.stop());
  await second.ready(READY_TIMEOUT_MS);
  t.log(`the new transform processor joined ${seconds(Date.now() - killedAt)} after the kill`);
  await waitUntil(
    async () => (await done()) + (await countsOf(baseUrl, stored)).failed + (await countsOf(baseUrl, remote)).failed >= 2 * ITEMS_PER_BATCH,
    {
      timeoutMs: 300_000,
      intervalMs: 500,
      description: 'both batches to complete',
    },
  ).catch((error: unknown) => {
    t.log(`the second processor's output:\n${second.output()}`);
    throw error;
  });
  t.log(`both batches complete ${seconds(Date.now() - killedAt)} after the kill`);

  for (const id of [stored, remote]) {
    t.deepEqual(await countsOf(baseUrl, id), { total: ITEMS_PER_BATCH, done: ITEMS_PER_BATCH, failed: 0, pending: 0 }, id);
    const items = await itemsOf(baseUrl, id);
    t.deepEqual(
      items.map((item) => item.index),
      Array.from({ length: ITEMS_PER_BATCH }, (_, index) => index),
      'each item recorded once',
    );
    t.deepEqual(
      items.filter((item) => item.status !== 'done').map((item) => item.failure),
      [],
    );
  }
});
