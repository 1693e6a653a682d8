import test, { type ExecutionContext } from 'ava';
import sharp, { type Metadata } from 'sharp';
import { ProgImage } from '../../sdk/src/index.ts';
import { anonymousRequest, request, signedUrl, TEST_API_KEY, uploadAccepted, waitForFinalStatus, type Reply } from '../support/api.ts';
import { readFixture } from '../support/fixtures.ts';
import { startOnServers, type ProgImageOnServers } from '../support/on-servers.ts';

/*
 * ID.auto on the real servers: the format each request's Accept header
 * takes (AVIF, WebP, else the image's own), with Vary: Accept, the same
 * stored result as the format's own URL, and dpr=auto sized by client hints.
 */

/** Image bytes are readable by this page only: every answer then varies by Origin too, which Vary must keep beside Accept. */
const PAGE = 'https://page.example';
const CHROME = 'image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8';
const WEBP_ONLY = 'image/webp,*/*';

interface Images {
  readonly running: ProgImageOnServers;
  readonly baseUrl: string;
  /** Landscape_1.jpg, 600x450: an opaque photo, stored as JPEG. */
  readonly photo: string;
  /** with-alpha.png: stored as PNG, with alpha. */
  readonly alpha: string;
  /** 4.webp: an opaque WebP, a format not every browser shows. */
  readonly webp: string;
  /** rotating-squares.gif: an animation of 30 frames. */
  readonly animation: string;
  /** 16384x16 pixels: too wide for WebP (16383 at most). */
  readonly wide: string;
}

let started: Promise<Images> | undefined;
async function start(): Promise<Images> {
  const running = await startOnServers('format-auto', { PROGIMAGE_CORS_IMAGE_ORIGINS: PAGE });
  const { baseUrl } = running.progimage;
  const stored = async (bytes: Buffer): Promise<string> => {
    const id = await uploadAccepted(baseUrl, bytes);
    const image = await waitForFinalStatus(baseUrl, id);
    if (image.status !== 'ready') throw new Error(`image ${id} ended ${image.status}: ${JSON.stringify(image.failure)}`);
    return id;
  };
  const [photo, alpha, webp, animation, wide] = await Promise.all([
    readFixture('Landscape_1.jpg').then(stored),
    readFixture('with-alpha.png').then(stored),
    readFixture('4.webp').then(stored),
    readFixture('rotating-squares.gif').then(stored),
    sharp({ create: { width: 16_384, height: 16, channels: 3, background: '#336699' } })
      .png()
      .toBuffer()
      .then(stored),
  ]);
  return { running, baseUrl, photo, alpha, webp, animation, wide };
}
const images = (): Promise<Images> => (started ??= start());
test.after.always(async () => {
  if (started !== undefined) await (await started).running.stop();
});

const get = (url: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Reply> =>
  request(url, { method, headers: { origin: PAGE, ...headers } });

const varyOf = (reply: Reply): string[] => (reply.headers.get('vary') ?? '').split(',').map((name) => name.trim().toLowerCase());

/** Checks an answer is `contentType`, decodes as that format, and varies by Accept and Origin (as every image answer here does). */
async function checkServed(t: ExecutionContext, reply: Reply, contentType: string, label: string): Promise<Metadata> {
  t.is(reply.status, 200, `${label}: ${reply.bytes.toString('utf8', 0, 200)}`);
  t.is(reply.headers.get('content-type'), contentType, label);
  t.true(
    ['accept', 'origin'].every((name) => varyOf(reply).includes(name)),
    `${label}: Vary ${reply.headers.get('vary')}`,
  );
  const metadata = await sharp(reply.bytes, { animated: true }).metadata();
  t.is(`image/${metadata.format === 'heif' ? 'avif' : metadata.format}`, contentType, `${label}: the bytes are what Content-Type says`);
  return metadata;
}

test('a photo goes as AVIF to a client naming it, WebP to one naming only WebP, JPEG to */* or no Accept; q=0 refuses a format', async (t) => {
  const { baseUrl, photo } = await images();
  const url = `${baseUrl}/v1/images/${photo}.auto`;
  const cases: readonly (readonly [string, string | undefined, string])[] = [
    ['Chrome', CHROME, 'image/avif'],
    ['Firefox', 'image/avif,image/webp,*/*', 'image/avif'],
    ['WebP only', WEBP_ONLY, 'image/webp'],
    ['*/*', '*/*', 'image/jpeg'],
    ['no Accept', undefined, 'image/jpeg'],
    ['AVIF q=0', 'image/avif;q=0,image/webp,*/*', 'image/webp'],
    ['AVIF and WebP q=0', 'image/avif;q=0,image/webp;q=0,*/*;q=0.8', 'image/jpeg'],
    ['WebP weighed above AVIF', 'image/avif;q=0.5,image/webp', 'image/webp'],
  ];
  // Twice each, in turns: the second answers come from the response cache, which must keep one answer per chosen format.
  for (const round of ['made', 'cached']) {
    for (const [label, accept, contentType] of cases) {
      const reply = await get(url, accept === undefined ? {} : { accept });
      await checkServed(t, reply, contentType, `${label} (${round})`);
    }
  }
});

test('ID.auto shares the stored result of the format it chose: the same ETag and bytes as ID.avif, ID.webp, ID.jpg, transformed or not', async (t) => {
  const { baseUrl, photo } = await images();
  for (const [accept, extension] of [
    [CHROME, 'avif'],
    [WEBP_ONLY, 'webp'],
    ['*/*', 'jpg'],
  ] as const) {
    for (const query of ['', '?w=120&h=90&fit=cover']) {
      const auto = await get(`${baseUrl}/v1/images/${photo}.auto${query}`, { accept });
      const fixed = await get(`${baseUrl}/v1/images/${photo}.${extension}${query}`);
      t.is(auto.status, 200);
      t.is(auto.headers.get('etag'), fixed.headers.get('etag'), `${extension}${query}`);
      t.true(auto.bytes.equals(fixed.bytes), `${extension}${query}`);
      t.false(varyOf(fixed).includes('accept'), `${extension}${query}: a fixed format does not vary by Accept`);
    }
  }
});

test('HEAD of ID.auto answers the headers of the GET with the same Accept, made before or not', async (t) => {
  const { baseUrl, photo } = await images();
  const headers = ['content-type', 'content-length', 'etag', 'last-modified', 'cache-control', 'vary', 'accept-ranges'];
  for (const accept of [CHROME, WEBP_ONLY, '*/*']) {
    const url = `${baseUrl}/v1/images/${photo}.auto?w=77`;
    const head = await get(url, { accept }, 'HEAD');
    const full = await get(url, { accept });
    t.is(head.status, 200, accept);
    t.is(head.bytes.length, 0, accept);
    for (const name of headers) t.is(head.headers.get(name), full.headers.get(name), `${accept}: ${name}`);
  }
});

test('an image with alpha goes as PNG when neither AVIF nor WebP is taken; an opaque WebP as JPEG; an animation as WebP or GIF, still animated', async (t) => {
  const { baseUrl, alpha, webp, animation } = await images();
  const alphaPng = await checkServed(t, await get(`${baseUrl}/v1/images/${alpha}.auto`, { accept: '*/*' }), 'image/png', 'alpha, */*');
  t.true(alphaPng.hasAlpha);
  t.true(
    (await checkServed(t, await get(`${baseUrl}/v1/images/${alpha}.auto`, { accept: WEBP_ONLY }), 'image/webp', 'alpha, WebP')).hasAlpha,
  );
  await checkServed(
    t,
    await get(`${baseUrl}/v1/images/${webp}.auto`, { accept: 'image/png,image/*;q=0.8' }),
    'image/jpeg',
    'opaque WebP, no WebP taken',
  );
  await checkServed(t, await get(`${baseUrl}/v1/images/${webp}.auto`, { accept: CHROME }), 'image/avif', 'opaque WebP, Chrome');
  const animatedWebp = await get(`${baseUrl}/v1/images/${animation}.auto`, { accept: CHROME });
  t.true(((await checkServed(t, animatedWebp, 'image/webp', 'animation, Chrome: AVIF would lose the frames')).pages ?? 1) > 1);
  t.is(
    animatedWebp.headers.get('etag'),
    (await get(`${baseUrl}/v1/images/${animation}.webp`)).headers.get('etag'),
    'the animated WebP of ID.webp',
  );
  const gif = await get(`${baseUrl}/v1/images/${animation}.auto`, { accept: '*/*' });
  t.true(((await checkServed(t, gif, 'image/gif', 'animation, */*')).pages ?? 1) > 1);
  t.is(gif.headers.get('etag'), (await get(`${baseUrl}/v1/images/${animation}.gif`)).headers.get('etag'), 'the animated GIF of ID.gif');
});

test('an image too wide for WebP goes in the next acceptable format instead of failing', async (t) => {
  const { baseUrl, wide } = await images();
  t.is(
    (await checkServed(t, await get(`${baseUrl}/v1/images/${wide}.auto`, { accept: WEBP_ONLY }), 'image/png', 'WebP only')).width,
    16_384,
  );
  await checkServed(t, await get(`${baseUrl}/v1/images/${wide}.auto`, { accept: 'image/webp,image/avif' }), 'image/avif', 'WebP and AVIF');
  await checkServed(t, await get(`${baseUrl}/v1/images/${wide}.auto?w=8000`, { accept: WEBP_ONLY }), 'image/webp', 'resized to fit WebP');
});

test('a signed ID.auto URL serves by Accept without a key, varying by Accept', async (t) => {
  const { baseUrl, photo } = await images();
  const url = await signedUrl(baseUrl, `/v1/images/${photo}.auto?w=80`);
  for (const round of ['made', 'cached']) {
    for (const [accept, contentType] of [
      [CHROME, 'image/avif'],
      ['*/*', 'image/jpeg'],
      [WEBP_ONLY, 'image/webp'],
    ] as const) {
      const reply = await anonymousRequest(url, { headers: { accept, origin: PAGE } });
      const metadata = await checkServed(t, reply, contentType, `${accept} (${round})`);
      t.is(metadata.width, 80);
      t.regex(reply.headers.get('cache-control') ?? '', /^public, max-age=\d+$/);
      t.is(reply.headers.get('access-control-allow-origin'), PAGE);
    }
  }
  const tampered = new URL(url);
  tampered.pathname = tampered.pathname.replace('.auto', '.avif');
  t.is((await anonymousRequest(tampered.href)).status, 403, 'the format is signed like the rest of the path');
});

test('the client library writes and signs ID.auto URLs, with dpr=auto kept for the server', async (t) => {
  const { baseUrl, photo } = await images();
  const pi = new ProgImage({ baseUrl, apiKey: TEST_API_KEY });
  const url = pi.images.url(photo, { format: 'auto', w: 100, dpr: 'auto' });
  t.is(url, `${baseUrl}/v1/images/${photo}.auto?width=100&dpr=auto`);
  const written = await get(url, { accept: CHROME, 'sec-ch-dpr': '2' });
  t.is((await checkServed(t, written, 'image/avif', 'the URL written')).width, 200);
  const signed = await pi.images.signedUrl(photo, { format: 'auto', w: 100 });
  const reply = await anonymousRequest(signed.url, { headers: { accept: WEBP_ONLY, origin: PAGE } });
  t.is((await checkServed(t, reply, 'image/webp', 'the URL signed')).width, 100);
});

test('dpr=auto reads the client hints: Sec-CH-DPR 2 doubles the size, a width hint sizes an image without one; Accept-CH asks for them, Vary names them', async (t) => {
  const { baseUrl, photo } = await images();
  const sized = `${baseUrl}/v1/images/${photo}.auto?w=100&dpr=auto`;
  const cases: readonly (readonly [string, Record<string, string>, number])[] = [
    ['no hints', {}, 100],
    ['Sec-CH-DPR: 2', { 'sec-ch-dpr': '2' }, 200],
    ['legacy DPR: 1.5', { dpr: '1.5' }, 150],
    ['Sec-CH-DPR: 9, clamped to 4', { 'sec-ch-dpr': '9' }, 400],
    ['a width hint does not override w', { 'sec-ch-dpr': '2', 'sec-ch-width': '320' }, 200],
  ];
  for (const round of ['made', 'cached']) {
    for (const [label, hints, width] of cases) {
      const reply = await get(sized, { accept: CHROME, ...hints });
      t.is(reply.status, 200, label);
      t.is((await sharp(reply.bytes).metadata()).width, width, `${label} (${round})`);
      t.is(reply.headers.get('accept-ch'), 'Sec-CH-DPR, Sec-CH-Width', label);
      t.deepEqual(varyOf(reply).sort(), ['accept', 'dpr', 'origin', 'sec-ch-dpr'], `${label}: ${reply.headers.get('vary')}`);
    }
  }
  const doubled = await get(sized, { accept: CHROME, 'sec-ch-dpr': '2' });
  t.is(
    doubled.headers.get('etag'),
    (await get(`${baseUrl}/v1/images/${photo}.avif?w=200`)).headers.get('etag'),
    'the same stored result as w=200',
  );

  const unsized = `${baseUrl}/v1/images/${photo}.webp?dpr=auto`;
  const byWidth = await get(unsized, { 'sec-ch-width': '240', 'sec-ch-dpr': '2' });
  t.is((await sharp(byWidth.bytes).metadata()).width, 240, 'the width hint is in device pixels already');
  t.deepEqual(varyOf(byWidth).sort(), ['dpr', 'origin', 'sec-ch-dpr', 'sec-ch-width', 'width']);
  t.is((await sharp((await get(unsized)).bytes).metadata()).width, 600, 'no hints: as stored');
});
