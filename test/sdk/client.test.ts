import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import test from 'ava';
import sharp from 'sharp';
import { blobKeys } from '../../lib/blob-keys.ts';
import { DEFAULT_TENANT } from '../../lib/ids.ts';
import { waitUntil } from '../../lib/wait.ts';
import { imageIdFor } from '../../ingest/image-ids.ts';
import {
  ApiError,
  AuthenticationError,
  BadRequestError,
  GoneError,
  ImageNotUsableError,
  NotFoundError,
  ProgImage,
  ServiceUnavailableError,
  UnsupportedMediaTypeError,
  type BatchEvent,
  type UploadProgress,
} from '../../sdk/src/index.ts';
import { TEST_API_KEY } from '../support/api.ts';
import { startFlakyProxy } from '../support/flaky-proxy.ts';
import { fixturePath, readFixture } from '../support/fixtures.ts';
import { jpegWithEicarComment } from '../support/images.ts';
import { startOnServers, type ProgImageOnServers } from '../support/on-servers.ts';

/** Every method of the client against every service on the real servers. */

let running: ProgImageOnServers | undefined;
const servers = async () => (running ??= await startOnServers('sdk'));
const client = async () => new ProgImage({ baseUrl: (await servers()).progimage.baseUrl, apiKey: TEST_API_KEY });

test.after.always(async () => {
  await running?.stop();
});

const FIXTURES = fixturePath('');

test.serial('upload takes a Buffer, a Uint8Array, a stream, a file path and a URL; each becomes a ready image', async (t) => {
  const pi = await client();
  const bytes = await readFixture('320x240.jpg');
  const inputs = [
    bytes,
    new Uint8Array(bytes),
    createReadStream(fixturePath('320x240.jpg')),
    fixturePath('320x240.jpg'),
    new URL((await servers()).fixtures.url('320x240.jpg')),
  ];
  for (const input of inputs) {
    const uploaded = await pi.images.upload(input);
    t.is(uploaded.status, 'uploaded');
    const image = await pi.images.waitUntilReady(uploaded.id, { timeout: 120_000 });
    t.like(image, { id: uploaded.id, status: 'ready', width: 320, height: 240, format: 'jpeg' });
  }
  const named = await pi.images.waitUntilReady((await pi.images.upload(fixturePath('320x240.jpg'))).id);
  t.is(named.original?.filename, '320x240.jpg', 'a file keeps its name');
  t.is(named.expiresAt, null, 'without a ttl it is kept until deleted');

  const before = Date.now();
  const expiring = await pi.images.waitUntilReady((await pi.images.upload(bytes, { ttl: 3600 })).id);
  const lifetime = Date.parse(expiring.expiresAt ?? '') - before;
  t.true(lifetime > 3_590_000 && lifetime <= 3_600_000 + 60_000, `expires ${String(expiring.expiresAt)}: about an hour after the upload`);
});

test.serial('get, list (page by page), url, download and delete', async (t) => {
  const pi = await client();
  const ids = await Promise.all(['Landscape_1.jpg', 'with-alpha.png'].map(async (name) => (await pi.images.upload(fixturePath(name))).id));
  const [id = ''] = ids;
  const [ready] = await Promise.all(ids.map((one) => pi.images.waitUntilReady(one)));
  t.like(await pi.images.get(id), { id, status: 'ready', createdAt: ready?.createdAt });

  const pages: string[][] = [];
  for await (const page of pi.images.list({ limit: 1 })) pages.push(page.map((image) => image.id));
  t.true(pages.every((page) => page.length <= 1));
  t.true(
    ids.every((one) => pages.flat().includes(one)),
    'every image is on some page',
  );

  const url = pi.images.url(id, { format: 'webp', h: 100, fit: 'cover', w: 120, flip: false, gravity: 'attention' });
  t.is(
    url,
    `${(await servers()).progimage.baseUrl}/v1/images/${id}.webp?width=120&height=100&gravity=attention`,
    'in canonical form: fit=cover is the default, flip=false is off',
  );
  const stream = await pi.images.download(id, { format: 'webp', w: 120, h: 100, fit: 'cover', gravity: 'attention' });
  const downloaded = await buffer(stream);
  t.like(await sharp(downloaded).metadata(), { format: 'webp', width: 120, height: 100 });

  // A signed URL: the same bytes, to anyone, with no key, until it expires.
  const signed = await pi.images.signedUrl(id, { format: 'webp', w: 120, h: 100, fit: 'cover', gravity: 'attention' }, { expiresIn: 600 });
  t.true(signed.expiresAt.getTime() > Date.now() + 590_000);
  const anonymous = await fetch(signed.url);
  t.is(anonymous.status, 200);
  t.deepEqual(Buffer.from(await anonymous.arrayBuffer()), downloaded);
  t.is((await fetch(signed.url.replace('width=120', 'width=121'))).status, 403, 'the options are signed');

  await pi.images.delete(id);
  await t.throwsAsync(pi.images.get(id), { instanceOf: NotFoundError });
  const listed: string[] = [];
  for await (const page of pi.images.list()) listed.push(...page.map((image) => image.id));
  t.false(listed.includes(id));
});

test.serial('transform of bytes, a file and a URL answers the transformed image and stores nothing', async (t) => {
  const pi = await client();
  const inputs = [await readFixture('Landscape_2.jpg'), fixturePath('Landscape_2.jpg'), (await servers()).fixtures.url('Landscape_2.jpg')];
  for (const input of inputs) {
    const result = await pi.transform(input, { w: 64, format: 'png', grayscale: true });
    t.is(result.contentType, 'image/png');
    t.like(await sharp(result.data).metadata(), { format: 'png', width: 64 });
  }
});

test.serial('API errors become typed errors with status, code, message and details', async (t) => {
  const pi = await client();
  const stranger = new ProgImage({ baseUrl: (await servers()).progimage.baseUrl, apiKey: 'pik_not-a-key' });
  t.like(await t.throwsAsync(stranger.images.get(randomUUID()), { instanceOf: AuthenticationError }), {
    status: 401,
    code: 'unauthenticated',
  });

  const missing = await t.throwsAsync(pi.images.get(randomUUID()), { instanceOf: NotFoundError });
  t.like(missing, { status: 404, code: 'not_found' });

  const notImage = await t.throwsAsync(pi.images.upload(Buffer.from('plain text, not an image')), {
    instanceOf: UnsupportedMediaTypeError,
  });
  t.like(notImage, { status: 415, code: 'unsupported_media_type' });
  t.true(Array.isArray(notImage.details.accepted), 'the details list the accepted formats');

  const { id } = await pi.images.upload(fixturePath('with-alpha.png'));
  await pi.images.waitUntilReady(id);
  const invalid = await t.throwsAsync(pi.images.download(id, { format: 'png', width: 0 }), { instanceOf: BadRequestError });
  t.like(invalid, { status: 400, code: 'invalid_transform', details: { option: 'width' } });

  const infected = await pi.images.upload(await jpegWithEicarComment());
  const unusable = await t.throwsAsync(pi.images.waitUntilReady(infected.id), { instanceOf: ImageNotUsableError });
  t.is(unusable.status, 'infected');
  t.like(await t.throwsAsync(pi.images.download(infected.id, { format: 'png' }), { instanceOf: GoneError }), {
    status: 410,
    code: 'infected',
  });
});

test.serial(
  'an idempotent call is retried after a 503 as Retry-After says; a stream upload, which cannot be sent twice, is not',
  async (t) => {
    const proxy = await startFlakyProxy((await servers()).progimage.baseUrl);
    t.teardown(() => proxy.close());
    const pi = new ProgImage({ baseUrl: proxy.baseUrl, apiKey: TEST_API_KEY });
    const bytes = await readFixture('320x240.jpg');

    proxy.failNext(1, 1);
    const started = Date.now();
    const uploaded = await pi.images.upload(bytes);
    t.true(Date.now() - started >= 1000, 'waited as long as Retry-After asked');
    t.deepEqual(
      proxy.requests.map((request) => request.answered),
      [503, 202],
    );
    const [first, second] = proxy.requests;
    t.truthy(first?.headers['idempotency-key']);
    t.is(first?.headers['idempotency-key'], second?.headers['idempotency-key'], 'the retry carries the same Idempotency-Key');

    await pi.images.waitUntilReady(uploaded.id);
    const before = proxy.requests.length;
    proxy.failNext(2);
    t.is((await pi.images.get(uploaded.id)).id, uploaded.id);
    t.deepEqual(
      proxy.requests.slice(before).map((request) => request.answered),
      [503, 503, 200],
    );

    proxy.failNext(1);
    await t.throwsAsync(pi.images.upload(Readable.from([bytes])), { instanceOf: ServiceUnavailableError });
    t.is(proxy.requests.length, before + 4, 'the stream upload was sent once');
  },
);

/** Finished POST /v1/images requests, from the service's own metrics. */
async function uploadsHandled(baseUrl: string): Promise<number> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  return text
    .split('\n')
    .filter(
      (line) =>
        line.startsWith('progimage_http_request_duration_seconds_count{') &&
        line.includes('method="POST"') &&
        line.includes('route="/v1/images"'),
    )
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
}

test.serial('aborting an upload midway leaves nothing stored', async (t) => {
  const { progimage } = await servers();
  const proxy = await startFlakyProxy(progimage.baseUrl);
  t.teardown(() => proxy.close());
  const pi = new ProgImage({ baseUrl: proxy.baseUrl, apiKey: TEST_API_KEY });
  const bytes = await readFixture('Landscape_3.jpg');
  const half = bytes.subarray(0, bytes.length / 2);
  let pushed = false;
  // Half the image, then nothing more: the upload is aborted once the service has that half.
  const body = new Readable({
    read() {
      if (!pushed) this.push(half);
      pushed = true;
    },
  });
  const controller = new AbortController();
  const idempotencyKey = randomUUID();
  const before = await uploadsHandled(progimage.baseUrl);
  const uploading = pi.images.upload(body, { idempotencyKey, signal: controller.signal });
  await waitUntil(() => proxy.bytesForwarded() >= half.length, {
    timeoutMs: 30_000,
    intervalMs: 20,
    description: 'half the upload to reach the service',
  });
  controller.abort();
  await t.throwsAsync(uploading, { any: true, name: 'AbortError' });
  await waitUntil(async () => (await uploadsHandled(progimage.baseUrl)) > before, {
    timeoutMs: 30_000,
    intervalMs: 50,
    description: 'the service to finish the aborted upload',
  });

  const id = imageIdFor(DEFAULT_TENANT, idempotencyKey, 0);
  t.is(await progimage.blobs.stat(blobKeys.original({ tenant: DEFAULT_TENANT, imageId: id })), null);
  await t.throwsAsync(pi.images.get(id), { instanceOf: NotFoundError });
});

test.serial('batches: create, watch its progress to the end, and get its items', async (t) => {
  const pi = await client();
  const ids = await Promise.all(['Landscape_4.jpg', 'Landscape_5.jpg'].map(async (name) => (await pi.images.upload(fixturePath(name))).id));
  await Promise.all(ids.map((id) => pi.images.waitUntilReady(id)));
  const batch = await pi.batches.create({
    images: [...ids, randomUUID()],
    transforms: [
      { w: 50, format: 'webp' },
      { width: 20, h: 20, mask: 'circle', format: 'png' },
    ],
  });
  t.like(batch, { counts: { total: 3 } });

  const events: BatchEvent[] = [];
  for await (const event of pi.batches.watch(batch.id, { timeout: 240_000 })) events.push(event);
  t.is(events.at(-1)?.type, 'completed');
  t.true(events.slice(0, -1).every((event) => event.type === 'progress'));
  t.like(events.at(-1)?.batch, { status: 'completed', counts: { total: 3, done: 2, failed: 1, pending: 0 } });

  const first = await pi.batches.get(batch.id, { limit: 2 });
  t.is(first.items.length, 2);
  t.truthy(first.next);
  const rest = await pi.batches.get(batch.id, { cursor: first.next ?? '' });
  t.deepEqual(
    [...first.items, ...rest.items].map((item) => item.status),
    ['done', 'done', 'failed'],
  );
  t.like(first.items[0]?.results[1], { format: 'png', width: 20, height: 20 });
});

test.serial(
  'uploadMany stores a folder of fixtures with progress; the images it refuses are reported with their typed errors',
  async (t) => {
    const pi = await client();
    const names = (await readdir(FIXTURES)).sort();
    const files = names.map((name) => `${FIXTURES}${name}`);
    const progress: UploadProgress[] = [];
    const outcomes = await pi.images.uploadMany(files, { concurrency: 4, onProgress: (update) => progress.push(update) });

    t.is(outcomes.length, files.length);
    t.deepEqual(
      outcomes.map((outcome) => outcome.input),
      files,
      'outcomes are in input order',
    );
    t.deepEqual(
      progress.map((update) => update.finished),
      files.map((_, index) => index + 1),
    );
    t.true(progress.every((update) => update.total === files.length));
    const failures = new Map(outcomes.flatMap((outcome, index) => (outcome.ok ? [] : [[names[index], outcome.error] as const])));
    t.is(progress.at(-1)?.failed, failures.size);
    t.true(failures.has('README.md') && failures.has('corrupt-header.jpg'));
    t.false(failures.has('320x240.jpg'));
    for (const error of failures.values()) t.true(error instanceof ApiError && error.status >= 400 && error.status < 500);
    t.true(failures.get('README.md') instanceof UnsupportedMediaTypeError);
    // Each accepted image reaches the catalog (moments after its 202).
    for (const outcome of outcomes) {
      if (!outcome.ok) continue;
      const image = await waitUntil(() => pi.images.get(outcome.image.id), {
        timeoutMs: 60_000,
        intervalMs: 100,
        description: `image ${outcome.image.id} in the catalog`,
      });
      t.is(image.id, outcome.image.id);
    }
  },
);
