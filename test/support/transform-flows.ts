import { createServer } from 'node:net';
import type { ReadableStream } from 'node:stream/web';
import type { AddressInfo } from 'node:net';
import test from 'ava';
import sharp from 'sharp';
import { z } from 'zod';
import { bearer, errorSchema, json, madeBlobsStored, request, TEST_API_KEY, uploadAccepted, waitForFinalStatus } from './api.ts';
import { startFixtureServer, type FixtureServer } from './fixture-server.ts';
import { readFixture } from './fixtures.ts';
import { parsePrometheusText, sampleSum, type Sample } from './prometheus.ts';
import { waitUntil } from '../../lib/wait.ts';
import type { RunningProgImage } from './progimage.ts';

/** Starts ProgImage with settings of the flows' own on top (the fixture server's host allowed for fetches). */
export type StartProgImage = (env: Readonly<Record<string, string>>) => Promise<RunningProgImage>;

/** The catalog's /metrics, parsed. */
async function catalogMetrics(baseUrl: string): Promise<Sample[]> {
  return parsePrometheusText((await request(`${baseUrl}/metrics`)).bytes.toString('utf8'));
}

/** Transformations made so far by the catalog. */
const transformsMade = async (baseUrl: string): Promise<number> => sampleSum(await catalogMetrics(baseUrl), 'progimage_transforms_total');

/** Masters the catalog has read to make transformations, from the store and from memory. */
async function masterReads(baseUrl: string): Promise<{ store: number; memory: number }> {
  const samples = await catalogMetrics(baseUrl);
  return {
    store: sampleSum(samples, 'progimage_master_reads_total', { from: 'store' }),
    memory: sampleSum(samples, 'progimage_master_reads_total', { from: 'memory' }),
  };
}

/** Transformations the catalog is making at this moment. */
const transformsRunning = async (baseUrl: string): Promise<number> =>
  sampleSum(await catalogMetrics(baseUrl), 'progimage_transforms_in_flight', { state: 'running' });

async function derivedBlobs(running: RunningProgImage, id: string): Promise<string[]> {
  await madeBlobsStored(running.baseUrl);
  const keys: string[] = [];
  for await (const blob of running.blobs.list(`derived/default/${id}/`)) keys.push(blob.key);
  return keys;
}

async function transformedBlobs(running: RunningProgImage, id: string): Promise<string[]> {
  await madeBlobsStored(running.baseUrl);
  const keys: string[] = [];
  for await (const blob of running.blobs.list(`derived/default/${id}/transforms/`)) keys.push(blob.key);
  return keys;
}

const acceptedMany = z.object({ images: z.array(z.object({ id: z.string() })) });

async function pixel(bytes: Buffer, x: number, y: number): Promise<number[]> {
  const { data, info } = await sharp(bytes).raw().toBuffer({ resolveWithObject: true });
  const at = (y * info.width + x) * info.channels;
  return [...data.subarray(at, at + info.channels)];
}

const batchSchema = z
  .object({
    id: z.string(),
    status: z.string(),
    counts: z.object({ total: z.number(), done: z.number(), failed: z.number(), pending: z.number() }),
  })
  .loose();
const batchItemSchema = z.object({
  index: z.number(),
  status: z.string(),
  failure: z.object({ code: z.string(), reason: z.string() }).nullable(),
  results: z.array(
    z.object({ transform: z.number(), format: z.string(), width: z.number(), height: z.number(), url: z.string().nullable() }),
  ),
});
const batchPageSchema = batchSchema.extend({ items: z.array(batchItemSchema), next: z.string().nullable() });

const postJson = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  request(url, { method: 'POST', body: JSON.stringify(body), headers: { 'Content-Type': 'application/json', ...headers } });

/** Reads a batch's Server-Sent Events until `completed`; returns every event's name and data. */
async function followBatch(baseUrl: string, id: string): Promise<{ event: string; data: z.infer<typeof batchSchema> }[]> {
  const response = await fetch(`${baseUrl}/v1/batches/${id}/events`, {
    headers: bearer(TEST_API_KEY),
    signal: AbortSignal.timeout(240_000),
  });
  if (response.body === null) throw new Error('an event stream has a body');
  const decoder = new TextDecoder();
  let text = '';
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  try {
    while (!text.includes('event: completed')) {
      const { done, value } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
  } catch (error) {
    throw new Error(`batch ${id}: no completed event (${String(error)}); the stream so far:\n${text.slice(-2000)}`, { cause: error });
  }
  await reader.cancel();
  return text
    .split('\n\n')
    .filter((block) => block.startsWith('event: '))
    .map((block) => {
      const [eventLine = '', dataLine = ''] = block.split('\n');
      return { event: eventLine.slice('event: '.length), data: batchSchema.parse(JSON.parse(dataLine.slice('data: '.length))) };
    });
}

export interface TransformFlowOptions {
  /** Also accept a 10,000-item batch (its items fail at once: unknown ids); slow on a catalog store that scans. */
  readonly largeBatch: boolean;
}

/** Transformations over HTTP: stored images over GET, request data and URLs over POST, and batches. */
export function registerTransformFlows(label: string, start: StartProgImage, flowOptions: TransformFlowOptions): void {
  let fixtures: FixtureServer | undefined;
  let running: Promise<RunningProgImage> | undefined;
  const progimage = () =>
    (running ??= startFixtureServer().then((server) => {
      fixtures = server;
      return start({ PROGIMAGE_FETCH_ALLOW_HOSTS: server.host });
    }));
  const fixtureServer = async () => {
    await progimage();
    if (fixtures === undefined) throw new Error('the fixture server starts with ProgImage');
    return fixtures;
  };
  let ready: Promise<string> | undefined;
  /** One stored, ready image (Landscape_1.jpg, 600x450) for the GET flows. */
  const storedImage = () =>
    (ready ??= progimage().then(async ({ baseUrl }) => {
      const id = await uploadAccepted(baseUrl, await readFixture('Landscape_1.jpg'));
      const image = await waitForFinalStatus(baseUrl, id);
      if (image.status !== 'ready') throw new Error(`the image ended ${image.status}`);
      return id;
    }));
  test.after.always(async () => {
    if (running !== undefined) await (await running).stop();
    await fixtures?.close();
  });

  // Serial: these count the image's stored transformations and the catalog's transform counter.
  test.serial(
    `${label}: a stored image transformed over GET is made once, kept under its canonical key and served like a variant`,
    async (t) => {
      t.timeout(300_000);
      const running = await progimage();
      const id = await storedImage();
      const first = await request(`${running.baseUrl}/v1/images/${id}.webp?w=100&h=100&fit=cover&g=north`);
      t.is(first.status, 200, first.bytes.toString('utf8', 0, 300));
      t.is(first.headers.get('content-type'), 'image/webp');
      t.is(first.headers.get('cache-control'), 'public, max-age=31536000, immutable');
      const meta = await sharp(first.bytes).metadata();
      t.deepEqual([meta.format, meta.width, meta.height], ['webp', 100, 100]);
      const etag = first.headers.get('etag');
      t.truthy(etag);
      for (const spelling of ['height=100&width=100&gravity=top', 'w=50&h=50&dpr=2&g=n&fit=cover']) {
        const again = await request(`${running.baseUrl}/v1/images/${id}.webp?${spelling}`);
        t.is(again.headers.get('etag'), etag, spelling);
      }
      t.is((await transformedBlobs(running, id)).length, 1, 'three spellings, one stored object');
      const revalidated = await request(`${running.baseUrl}/v1/images/${id}.webp?w=100&h=100&g=north`, {
        headers: { 'If-None-Match': etag ?? '' },
      });
      t.is(revalidated.status, 304);
    },
  );

  test(`${label}: a preset is served as a variant in any format, and by name as an option`, async (t) => {
    const { baseUrl } = await progimage();
    const id = await storedImage();
    const built = await request(`${baseUrl}/v1/images/${id}/variants/thumbnail.webp`);
    t.is(built.status, 200);
    const onDemand = await request(`${baseUrl}/v1/images/${id}/variants/thumbnail.png`);
    t.is(onDemand.status, 200, 'a format the pipeline did not build is made on request');
    t.deepEqual(
      await sharp(onDemand.bytes)
        .metadata()
        .then((meta) => [meta.format, meta.width, meta.height]),
      ['png', 200, 150],
    );
    const byName = await request(`${baseUrl}/v1/images/${id}.png?preset=thumbnail`);
    t.is(byName.headers.get('etag'), onDemand.headers.get('etag'), 'one transformation, one stored object');
    const unknown = await request(`${baseUrl}/v1/images/${id}/variants/banner.webp`);
    t.is(unknown.status, 404);
    t.deepEqual((json(unknown) as { error: { presets: string[] } }).error.presets, ['thumbnail', 'medium']);
  });

  test.serial(`${label}: 20 concurrent identical requests for a new transformation make it once`, async (t) => {
    t.timeout(300_000);
    const { baseUrl } = await progimage();
    const id = await storedImage();
    const before = await transformsMade(baseUrl);
    const replies = await Promise.all(
      Array.from({ length: 20 }, () => request(`${baseUrl}/v1/images/${id}.png?w=300&rotate=90&grayscale=1`)),
    );
    t.deepEqual(new Set(replies.map((reply) => reply.status)), new Set([200]));
    t.is(new Set(replies.map((reply) => reply.headers.get('etag'))).size, 1);
    t.is((await transformsMade(baseUrl)) - before, 1);
    const [reply] = replies;
    if (reply === undefined) throw new Error('20 replies');
    const meta = await sharp(reply.bytes).metadata();
    t.deepEqual([meta.width, meta.height], [225, 300], 'resized to 300x225, then turned a quarter');
    const [r, g, b] = await pixel(reply.bytes, 112, 150);
    t.true(r === g && g === b, 'grayscale');
  });

  test.serial(`${label}: several sizes of a new image, at once and then one more, read its master from the store once`, async (t) => {
    t.timeout(300_000);
    const { baseUrl } = await progimage();
    const id = await uploadAccepted(baseUrl, await readFixture('Landscape_3.jpg'));
    t.is((await waitForFinalStatus(baseUrl, id)).status, 'ready');
    const before = await masterReads(baseUrl);
    const widths = [120, 240, 360, 480];
    const replies = await Promise.all(widths.map((width) => request(`${baseUrl}/v1/images/${id}.jpg?w=${width}`)));
    t.deepEqual(
      await Promise.all(replies.map(async (reply) => (reply.status === 200 ? (await sharp(reply.bytes).metadata()).width : reply.status))),
      widths,
    );
    t.is((await request(`${baseUrl}/v1/images/${id}.jpg?w=600`)).status, 200, 'one more size, asked for afterwards');
    const after = await masterReads(baseUrl);
    // At most once: an image of equal bytes uploaded by another flow may share its master, already held.
    t.true(after.store - before.store <= 1, `${after.store - before.store} reads from the store`);
    t.is(after.store - before.store + (after.memory - before.memory), widths.length + 1, 'every miss read the master');
  });

  test(`${label}: a circle mask leaves the corners transparent and the centre opaque`, async (t) => {
    const { baseUrl } = await progimage();
    const id = await storedImage();
    const reply = await request(`${baseUrl}/v1/images/${id}.png?w=200&h=200&mask=circle`);
    t.is(reply.status, 200);
    t.is((await sharp(reply.bytes).metadata()).channels, 4);
    t.is((await pixel(reply.bytes, 0, 0))[3], 0);
    t.is((await pixel(reply.bytes, 199, 199))[3], 0);
    t.is((await pixel(reply.bytes, 100, 100))[3], 255);
  });

  test.serial(`${label}: a bad option is a 400 naming it, and nothing is made`, async (t) => {
    const running = await progimage();
    const id = await storedImage();
    const stored = await transformedBlobs(running, id);
    for (const [query, option] of [
      ['w=0', 'width'],
      ['rotate=abc', 'rotate'],
      ['sepia=1', 'sepia'],
      ['q=50&lossless=1', 'lossless'],
    ] as const) {
      const reply = await request(`${running.baseUrl}/v1/images/${id}.jpg?${query}`);
      t.is(reply.status, 400, query);
      const body = errorSchema.parse(json(reply));
      t.is(body.error.code, 'invalid_transform', query);
      t.is(body.error.option, option, query);
    }
    t.deepEqual(await transformedBlobs(running, id), stored);
    t.is((await request(`${running.baseUrl}/v1/images/${id}.jpg?w=10`)).status, 200, 'the next good request succeeds');
  });

  test.serial(
    `${label}: a DELETE while a transformation of the image is being made wins: no derived blob outlives the image`,
    async (t) => {
      t.timeout(300_000);
      const running = await progimage();
      const id = await uploadAccepted(running.baseUrl, await readFixture('2569067123_aca715a2ee_o.jpg'));
      t.is((await waitForFinalStatus(running.baseUrl, id)).status, 'ready');
      // A blur of this size on 6 megapixels takes seconds: long enough to delete the image under it.
      const slow = request(`${running.baseUrl}/v1/images/${id}.png?blur=80`);
      await waitUntil(async () => (await transformsRunning(running.baseUrl)) > 0, {
        timeoutMs: 30_000,
        intervalMs: 20,
        description: 'the transformation to start',
      });
      t.is((await request(`${running.baseUrl}/v1/images/${id}`, { method: 'DELETE' })).status, 204);
      const answer = await slow;
      t.is(answer.status, 404, answer.bytes.toString('utf8', 0, 300));
      t.is(errorSchema.parse(json(answer)).error.code, 'not_found');
      t.deepEqual(await derivedBlobs(running, id), [], 'the transformation made after the DELETE listed the blobs is deleted too');
    },
  );

  test(`${label}: POST /v1/transform transforms the image in the body and stores nothing`, async (t) => {
    const { baseUrl } = await progimage();
    const reply = await request(`${baseUrl}/v1/transform?w=160&format=avif`, {
      method: 'POST',
      body: await readFixture('Landscape_6.jpg'),
      headers: { 'Content-Type': 'image/jpeg' },
    });
    t.is(reply.status, 200, reply.bytes.toString('utf8', 0, 300));
    t.is(reply.headers.get('cache-control'), 'no-store');
    const meta = await sharp(reply.bytes).metadata();
    t.deepEqual([meta.format, meta.width, meta.height], ['heif', 160, 120], 'upright (EXIF orientation 6 applied), then resized');
    const notAnImage = await request(`${baseUrl}/v1/transform?w=10`, {
      method: 'POST',
      body: 'hello',
      headers: { 'Content-Type': 'image/png' },
    });
    t.is(notAnImage.status, 415);
  });

  test(`${label}: images at URLs are transformed and uploaded through the fetcher`, async (t) => {
    t.timeout(300_000);
    const { baseUrl } = await progimage();
    const server = await fixtureServer();
    const transformed = await request(`${baseUrl}/v1/transform`, {
      method: 'POST',
      body: JSON.stringify({ url: server.url('with-alpha.png'), w: 50, format: 'webp' }),
      headers: { 'Content-Type': 'application/json' },
    });
    t.is(transformed.status, 200, transformed.bytes.toString('utf8', 0, 300));
    t.is((await sharp(transformed.bytes).metadata()).width, 50);

    const uploaded = await request(`${baseUrl}/v1/images`, {
      method: 'POST',
      body: JSON.stringify({ urls: [server.url('320x240.jpg'), server.url('4.webp')] }),
      headers: { 'Content-Type': 'application/json' },
    });
    t.is(uploaded.status, 202, uploaded.bytes.toString('utf8', 0, 300));
    const { images } = acceptedMany.parse(json(uploaded));
    t.is(images.length, 2);
    for (const { id } of images) t.is((await waitForFinalStatus(baseUrl, id)).status, 'ready');

    const missing = await request(`${baseUrl}/v1/images`, {
      method: 'POST',
      body: JSON.stringify({ urls: [server.url('320x240.jpg'), server.url('no-such-file.jpg')] }),
      headers: { 'Content-Type': 'application/json' },
    });
    t.is(missing.status, 502);
    t.regex(errorSchema.parse(json(missing)).error.message, /^url 2: /);
  });

  test(`${label}: a URL on a refused address is a 400 and no connection is made`, async (t) => {
    const { baseUrl } = await progimage();
    let connections = 0;
    const trap = createServer(() => {
      connections += 1;
    });
    await new Promise<void>((resolve) => trap.listen(0, '127.0.0.1', resolve));
    t.teardown(
      () =>
        new Promise<void>((resolve) =>
          trap.close(() => {
            resolve();
          }),
        ),
    );
    const { port } = trap.address() as AddressInfo;
    for (const url of [
      `http://127.0.0.1:${port}/x.jpg`,
      `http://[::ffff:127.0.0.1]:${port}/x.jpg`,
      `http://2130706433:${port}/x.jpg`,
      'http://169.254.169.254/latest/meta-data/',
    ]) {
      for (const path of ['/v1/transform', '/v1/images']) {
        const reply = await request(`${baseUrl}${path}`, {
          method: 'POST',
          body: JSON.stringify({ url }),
          headers: { 'Content-Type': 'application/json' },
        });
        t.is(reply.status, 400, `${path} ${url}`);
        t.is(errorSchema.parse(json(reply)).error.code, 'address_refused', `${path} ${url}`);
      }
    }
    t.is(connections, 0);
  });

  test(`${label}: a batch over stored images completes with its counts, progress events and stored outputs`, async (t) => {
    t.timeout(300_000);
    const { baseUrl } = await progimage();
    const id = await storedImage();
    const unknown = '00000000-0000-4000-8000-000000000000';
    const accepted = await postJson(`${baseUrl}/v1/batches`, {
      images: [id, unknown, id],
      transforms: [
        { w: 100, format: 'webp' },
        { w: 50, grayscale: true },
      ],
    });
    t.is(accepted.status, 202, accepted.bytes.toString('utf8', 0, 300));
    const batch = batchSchema.parse(json(accepted));
    t.is(batch.counts.total, 3);
    const events = await followBatch(baseUrl, batch.id);
    const last = events.at(-1);
    t.is(last?.event, 'completed');
    t.deepEqual(last?.data.counts, { total: 3, done: 2, failed: 1, pending: 0 });
    const page = batchPageSchema.parse(json(await request(`${baseUrl}/v1/batches/${batch.id}`)));
    t.deepEqual(
      page.items.map((item) => [item.index, item.status]),
      [
        [0, 'done'],
        [1, 'failed'],
        [2, 'done'],
      ],
    );
    t.is(page.items[1]?.failure?.code, 'not_found', 'one failed item, and the batch still completes');
    const [webp, gray] = page.items[0]?.results ?? [];
    t.deepEqual([webp?.format, webp?.width, webp?.height], ['webp', 100, 75]);
    t.deepEqual([gray?.format, gray?.width], ['jpeg', 50]);
    const output = await request(`${baseUrl}${webp?.url ?? ''}`);
    t.is(output.status, 200);
    t.deepEqual(
      await sharp(output.bytes)
        .metadata()
        .then((meta) => [meta.format, meta.width]),
      ['webp', 100],
    );
    const same = await request(`${baseUrl}/v1/images/${id}.webp?w=100`);
    t.is(same.headers.get('etag'), output.headers.get('etag'), "a stored image's outputs are where GET puts that transformation");
  });

  test(`${label}: a batch over URLs fetches each through the fetcher; an item that fails does not fail the batch`, async (t) => {
    t.timeout(300_000);
    const { baseUrl } = await progimage();
    const server = await fixtureServer();
    const accepted = await postJson(`${baseUrl}/v1/batches`, {
      urls: [server.url('4.webp'), server.url('no-such-file.jpg'), server.url('Landscape_6.jpg'), 'http://127.0.0.1:1/x.jpg'],
      transforms: [{ w: 64, h: 64, fit: 'cover', format: 'png' }],
    });
    t.is(accepted.status, 202);
    const batch = batchSchema.parse(json(accepted));
    t.deepEqual((await followBatch(baseUrl, batch.id)).at(-1)?.data.counts, { total: 4, done: 2, failed: 2, pending: 0 });
    const page = batchPageSchema.parse(json(await request(`${baseUrl}/v1/batches/${batch.id}`)));
    t.deepEqual(
      page.items.map((item) => item.failure?.code ?? item.status),
      ['done', 'remote_error', 'done', 'address_refused'],
    );
    const landscape = await request(`${baseUrl}${page.items[2]?.results[0]?.url ?? ''}`);
    t.deepEqual(
      await sharp(landscape.bytes)
        .metadata()
        .then((meta) => [meta.format, meta.width, meta.height]),
      ['png', 64, 64],
    );
  });

  test(`${label}: a batch retried with its Idempotency-Key is the same batch; a bad transformation is a 400 naming it`, async (t) => {
    const { baseUrl } = await progimage();
    const body = { images: ['00000000-0000-4000-8000-000000000001'], transforms: [{ w: 10, format: 'png' }] };
    const key = { 'Idempotency-Key': `batch-${label}-${String(Date.now())}` };
    const first = batchSchema.parse(json(await postJson(`${baseUrl}/v1/batches`, body, key)));
    const again = batchSchema.parse(json(await postJson(`${baseUrl}/v1/batches`, body, key)));
    t.is(again.id, first.id);
    const other = await postJson(`${baseUrl}/v1/batches`, { ...body, store: false }, key);
    t.is(other.status, 422);
    t.is(errorSchema.parse(json(other)).error.code, 'idempotency_key_reused');
    const bad = await postJson(`${baseUrl}/v1/batches`, { images: body.images, transforms: [{ w: 10 }, { rotate: 'sideways' }] });
    t.is(bad.status, 400);
    const error = errorSchema.parse(json(bad)).error;
    t.is(error.code, 'invalid_transform');
    t.is(error.transform, 1);
    t.is(error.option, 'rotate');
    t.is((await postJson(`${baseUrl}/v1/batches`, { images: [], transforms: [{ w: 1 }] })).status, 400);
    t.is((await request(`${baseUrl}/v1/batches/00000000-0000-4000-8000-00000000abcd`)).status, 404);
  });

  if (flowOptions.largeBatch) {
    test(`${label}: a batch of 10,000 items is accepted and completes`, async (t) => {
      t.timeout(300_000);
      // A ProgImage of its own: 10,000 item events would hold up every other flow's events behind them.
      const running = await start({});
      t.teardown(() => running.stop());
      const { baseUrl } = running;
      const images = Array.from({ length: 10_000 }, (_, index) => `00000000-0000-4000-8000-${String(index).padStart(12, '0')}`);
      const accepted = await postJson(`${baseUrl}/v1/batches`, { images, transforms: [{ w: 10 }] });
      t.is(accepted.status, 202, accepted.bytes.toString('utf8', 0, 300));
      const batch = batchSchema.parse(json(accepted));
      t.is(batch.counts.total, 10_000);
      t.deepEqual((await followBatch(baseUrl, batch.id)).at(-1)?.data.counts, { total: 10_000, done: 0, failed: 10_000, pending: 0 });
    });
  }
}
