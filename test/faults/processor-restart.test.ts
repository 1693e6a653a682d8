import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import test from 'ava';
import type { Consumer } from 'kafkajs';
import { catalogService } from '../../catalog/service.ts';
import { localStackEnvironment } from '../../infra/local/settings.ts';
import { ingestService } from '../../ingest/service.ts';
import { loadConfig } from '../../lib/config/index.ts';
import { TOPICS } from '../../lib/events/topics.ts';
import { createKafkaClient } from '../../lib/kafka/client.ts';
import { hostServices } from '../../lib/service/host.ts';
import { waitUntil } from '../../lib/wait.ts';
import { compressService } from '../../processors/compress/service.ts';
import { scanService } from '../../processors/scan/service.ts';
import { variantsService } from '../../processors/variants/service.ts';
import { imageSchema, json, request, uploadAccepted, type ImageJson } from '../support/api.ts';
import { spawnChildService } from '../support/child-service.ts';
import { readFixture } from '../support/fixtures.ts';
import { serverConfig } from '../support/servers.ts';

const BURST = 100;
/** Start strip once this many images of the burst wait for it. */
const BACKLOG = 50;
/** Kill strip once this many images of the burst are past it, and others are not. */
const KILL_AFTER_STRIPPED = 20;
const STRIP_MAIN = 'processors/strip/main.ts';
/** After a kill -9 the broker keeps the dead member for its session timeout (30 s) before it rebalances. */
const STRIP_READY_TIMEOUT_MS = 120_000;

const PAST_STRIP = new Set(['stripped', 'compressed', 'ready']);
const PAST_SCAN = new Set(['clean', ...PAST_STRIP]);
const FINAL = new Set(['ready', 'failed', 'infected']);

/** thumbnail and medium, each in WebP, AVIF and the JPEG master's own format. */
const EXPECTED_VARIANTS = ['medium.avif', 'medium.jpeg', 'medium.webp', 'thumbnail.avif', 'thumbnail.jpeg', 'thumbnail.webp'];
const EXPECTED_VARIANT_BLOBS = ['medium.avif', 'medium.jpg', 'medium.webp', 'thumbnail.avif', 'thumbnail.jpg', 'thumbnail.webp'];

/** Runs `work` on every item, at most `limit` at a time, keeping the order. */
async function mapLimit<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  let next = 0;
  const worker = async () => {
    for (let index = next++; index < items.length; index = next++) results[index] = await work(items[index] as T);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** The catalog's view of each image; null while the catalog has not recorded it yet. */
const lookUp = (baseUrl: string, ids: readonly string[]) =>
  mapLimit(ids, 16, async (id): Promise<ImageJson | null> => {
    const reply = await request(`${baseUrl}/v1/images/${id}`);
    if (reply.status === 404) return null;
    if (reply.status !== 200) throw new Error(`GET ${id} answered ${reply.status}: ${reply.bytes.toString('utf8')}`);
    return imageSchema.parse(json(reply));
  });

/** Waits until at least `count` of the images have one of `statuses`; resolves to how many have. */
const waitForStatuses = (baseUrl: string, ids: readonly string[], statuses: ReadonlySet<string>, count: number, what: string) =>
  waitUntil(
    async () => {
      const reached = (await lookUp(baseUrl, ids)).filter((image) => image !== null && statuses.has(image.status)).length;
      return reached >= count ? reached : false;
    },
    { timeoutMs: 120_000, intervalMs: 50, description: `${count} images to be ${what}` },
  );

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** Every id of the catalog's list of ready images, walked page by page with its cursor. */
async function listReady(baseUrl: string): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | null = null;
  do {
    const reply = await request(`${baseUrl}/v1/images?status=ready&limit=100${cursor === null ? '' : `&cursor=${cursor}`}`);
    const page = json(reply) as { images: unknown[]; next: string | null };
    ids.push(...page.images.map((item) => imageSchema.parse(item).id));
    cursor = page.next;
  } while (cursor !== null);
  return ids;
}

/**
 * Counts the events of the pipeline's topics per image id, from a consumer
 * group of its own that commits nothing: how often each stage published for
 * an image, i.e. how much work the crash made the pipeline redo.
 */
async function observeEvents(config: Parameters<typeof createKafkaClient>[0]) {
  const topics = [TOPICS.imageStripped, TOPICS.imageCompressed, TOPICS.imageVariantsBuilt] as const;
  const counts = new Map<string, Map<string, number>>(topics.map((topic) => [topic, new Map()]));
  const kafka = createKafkaClient(config);
  const groupId = `progimage-restart-observer-${randomUUID()}`;
  const consumer: Consumer = kafka.consumer({ groupId, allowAutoTopicCreation: false });
  const joined = new Promise<void>((resolve) => {
    consumer.on(consumer.events.GROUP_JOIN, () => {
      resolve();
    });
  });
  await consumer.connect();
  await consumer.subscribe({ topics: [...topics], fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachMessage: ({ topic, message }) => {
      const perImage = counts.get(topic);
      const key = message.key?.toString() ?? '';
      perImage?.set(key, (perImage.get(key) ?? 0) + 1);
      return Promise.resolve();
    },
  });
  await joined;
  return {
    /** How many of `ids` had each topic's event published more than once. */
    repeated(ids: readonly string[]) {
      return Object.fromEntries(
        topics.map((topic) => [topic, ids.filter((id) => (counts.get(topic)?.get(id) ?? 0) > 1).length]),
      );
    },
    published(topic: (typeof topics)[number], id: string) {
      return counts.get(topic)?.get(id) ?? 0;
    },
    async stop() {
      await consumer.disconnect();
      const admin = kafka.admin();
      await admin.connect();
      await admin.deleteGroups([groupId]).catch(() => undefined);
      await admin.disconnect();
    },
  };
}

test('a strip processor killed mid-burst and started again: every image is ready once, with one catalog document and no duplicate variants', async (t) => {
  t.timeout(300_000);
  const servers = await serverConfig();
  const stack = process.env.PROGIMAGE_KAFKA_BROKERS === undefined ? { ...process.env, ...localStackEnvironment() } : process.env;
  const env = { ...stack, PROGIMAGE_SCAN: 'on', PROGIMAGE_LOG_LEVEL: 'warn' };

  // Everything but strip in this process; strip in a process of its own, which the test can kill.
  const config = loadConfig({ ...env, PROGIMAGE_HTTP_HOST: '127.0.0.1', PROGIMAGE_HTTP_PORT: '0' });
  const hosted = await hostServices('restart-test', [catalogService, ingestService, scanService, compressService, variantsService], config);
  t.teardown(() => hosted.stop());
  const baseUrl = `http://127.0.0.1:${(hosted.server.address() as AddressInfo).port}`;
  const events = await observeEvents(servers.kafka);
  t.teardown(() => events.stop());

  // The burst: the same small JPEG a hundred times, each upload its own image.
  const jpeg = await readFixture('320x240.jpg');
  const burstStarted = Date.now();
  const ids = await mapLimit(Array.from({ length: BURST }), 8, () => uploadAccepted(baseUrl, jpeg, 'image/jpeg'));
  t.is(new Set(ids).size, BURST, 'every upload got an id of its own');
  t.log(`${BURST} uploads accepted in ${seconds(Date.now() - burstStarted)}`);

  // Strip starts behind a backlog, so that it is killed in the middle of a fetched batch with work
  // done but not committed (kafkajs commits about once a second), not while it idles waiting for scan.
  await waitForStatuses(baseUrl, ids, PAST_SCAN, BACKLOG, 'scanned');
  const firstStrip = await spawnChildService(STRIP_MAIN, env);
  t.teardown(() => firstStrip.stop());
  const spawnedAt = Date.now();
  await firstStrip.ready(STRIP_READY_TIMEOUT_MS);
  t.log(`strip joined its group ${seconds(Date.now() - spawnedAt)} after it was started`);
  const pastStrip = await waitForStatuses(baseUrl, ids, PAST_STRIP, KILL_AFTER_STRIPPED, 'past strip');
  const killed = await firstStrip.kill();
  const killedAt = Date.now();
  t.is(killed.signal, 'SIGKILL');
  t.true(pastStrip < BURST, 'strip is killed while some images of the burst still have to pass it');
  t.log(`killed strip (pid ${firstStrip.pid ?? '?'}) with ${pastStrip} of ${BURST} images past strip`);

  const secondStrip = await spawnChildService(STRIP_MAIN, env);
  t.teardown(() => secondStrip.stop());
  await secondStrip.ready(STRIP_READY_TIMEOUT_MS);
  t.log(`the new strip joined its group ${seconds(Date.now() - killedAt)} after the kill`);

  // Done when every image is ready, or as soon as one ends otherwise (failed, infected).
  const final = await waitUntil(
    async () => {
      const images = (await lookUp(baseUrl, ids)).filter((image) => image !== null);
      const done = images.length === ids.length && images.every((image) => image.status === 'ready');
      return done || images.some((image) => FINAL.has(image.status) && image.status !== 'ready') ? images : false;
    },
    { timeoutMs: 180_000, intervalMs: 250, description: `all ${BURST} images to be ready` },
  ).catch((error: unknown) => {
    t.log(`second strip's output:\n${secondStrip.output()}`);
    throw error;
  });
  t.log(`all ${BURST} images final ${seconds(Date.now() - killedAt)} after the kill`);

  const notReady = final.filter((image) => image.status !== 'ready');
  t.deepEqual(notReady.map((image) => ({ id: image.id, status: image.status, failure: image.failure })), [], 'every image is ready');

  // One catalog document per image: each id is listed once among the ready images.
  const listed = (await listReady(baseUrl)).filter((id) => ids.includes(id));
  t.deepEqual([...listed].sort(), [...ids].sort(), 'each image of the burst is listed once');

  for (const image of final) {
    const variants = image.variants.map((variant) => `${variant.name}.${variant.format}`).sort();
    t.deepEqual(variants, EXPECTED_VARIANTS, `${image.id}: one variant per preset and format`);
    const blobs: string[] = [];
    for await (const blob of hosted.dependencies.blobs.list(`derived/default/${image.id}/variants/`)) {
      blobs.push(blob.key.slice(blob.key.lastIndexOf('/') + 1));
    }
    t.deepEqual(blobs.sort(), EXPECTED_VARIANT_BLOBS, `${image.id}: one variant blob per preset and format`);
  }

  // Every image was stripped at least once; what the crash made the pipeline redo is reported, not required.
  await waitUntil(() => ids.every((id) => events.published(TOPICS.imageVariantsBuilt, id) > 0), {
    timeoutMs: 30_000,
    description: 'the observer to have seen every image.variants-built event',
  });
  t.true(ids.every((id) => events.published(TOPICS.imageStripped, id) > 0));
  t.log(`images whose event was published more than once: ${JSON.stringify(events.repeated(ids))}`);
});
