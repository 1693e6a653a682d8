import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import test from 'ava';
import sharp from 'sharp';
import { z } from 'zod';
import { errorSchema, json, request, uploadAccepted, waitForFinalStatus } from './api.ts';
import { startFixtureServer, type FixtureServer } from './fixture-server.ts';
import { readFixture } from './fixtures.ts';
import type { RunningProgImage } from './progimage.ts';

/** Starts ProgImage with settings of the flows' own on top (the fixture server's host allowed for fetches). */
export type StartProgImage = (env: Readonly<Record<string, string>>) => Promise<RunningProgImage>;

/** Transformations made so far by the catalog, read from its /metrics. */
async function transformsMade(baseUrl: string): Promise<number> {
  const text = (await request(`${baseUrl}/metrics`)).bytes.toString('utf8');
  return [...text.matchAll(/^progimage_transforms_total\{[^}]*\} (\d+)$/gm)].reduce((sum, match) => sum + Number(match[1]), 0);
}

async function transformedBlobs(running: RunningProgImage, id: string): Promise<string[]> {
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

/** Transformations over HTTP: stored images over GET, request data and URLs over POST. */
export function registerTransformFlows(label: string, start: StartProgImage): void {
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
  test.serial(`${label}: a stored image transformed over GET is made once, kept under its canonical key and served like a variant`, async (t) => {
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
    const revalidated = await request(`${running.baseUrl}/v1/images/${id}.webp?w=100&h=100&g=north`, { headers: { 'If-None-Match': etag ?? '' } });
    t.is(revalidated.status, 304);
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
    for (const [query, option] of [['w=0', 'width'], ['rotate=abc', 'rotate'], ['sepia=1', 'sepia'], ['q=50&lossless=1', 'lossless']] as const) {
      const reply = await request(`${running.baseUrl}/v1/images/${id}.jpg?${query}`);
      t.is(reply.status, 400, query);
      const body = errorSchema.parse(json(reply));
      t.is(body.error.code, 'invalid_transform', query);
      t.is(body.error.option, option, query);
    }
    t.deepEqual(await transformedBlobs(running, id), stored);
    t.is((await request(`${running.baseUrl}/v1/images/${id}.jpg?w=10`)).status, 200, 'the next good request succeeds');
  });

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
    const notAnImage = await request(`${baseUrl}/v1/transform?w=10`, { method: 'POST', body: 'hello', headers: { 'Content-Type': 'image/png' } });
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
    t.teardown(() => new Promise<void>((resolve) => trap.close(() => { resolve(); })));
    const { port } = trap.address() as AddressInfo;
    for (const url of [`http://127.0.0.1:${port}/x.jpg`, `http://[::ffff:127.0.0.1]:${port}/x.jpg`, `http://2130706433:${port}/x.jpg`, 'http://169.254.169.254/latest/meta-data/']) {
      for (const path of ['/v1/transform', '/v1/images']) {
        const reply = await request(`${baseUrl}${path}`, { method: 'POST', body: JSON.stringify({ url }), headers: { 'Content-Type': 'application/json' } });
        t.is(reply.status, 400, `${path} ${url}`);
        t.is(errorSchema.parse(json(reply)).error.code, 'address_refused', `${path} ${url}`);
      }
    }
    t.is(connections, 0);
  });
}
