import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import sharp from 'sharp';
import {
  anonymousRequest,
  errorSchema,
  json,
  madeBlobsStored,
  request,
  upload,
  uploadAccepted,
  waitForFinalStatus,
  type Reply,
} from '../support/api.ts';
import { readFixture } from '../support/fixtures.ts';
import { startProgImage, type RunningProgImage } from '../support/progimage.ts';

/*
 * Delivery as CDNs, browsers and download managers expect it: every image
 * URL answers GET, HEAD, Range and OPTIONS with the same headers; 304, 206,
 * 416 and If-Range follow RFC 9110; signed URLs are cached no longer than
 * they last; downloads are named safely; every error is JSON.
 */

const MAX_UPLOAD_BYTES = 150_000;
/** Past this size derived images are not kept in memory (catalog/service.ts): they are streamed from the store. */
const STREAMED_BYTES = 512 * 1024;
const SIGNED_FOR_SECONDS = 300;

interface Deployment {
  readonly running: RunningProgImage;
  /** A ready image of the default tenant (Landscape_1.jpg, 600x450, stored as JPEG). */
  readonly id: string;
}

/** The embedded default, as `npm start` runs it, under a fresh data dir, with a small upload limit. */
async function deploy(env: Readonly<Record<string, string>>): Promise<Deployment> {
  const running = await startProgImage({
    PROGIMAGE_DATA_DIR: mkdtempSync(join(tmpdir(), 'progimage-delivery-')),
    PROGIMAGE_MAX_UPLOAD_BYTES: String(MAX_UPLOAD_BYTES),
    ...env,
  });
  const id = await uploadAccepted(running.baseUrl, await readFixture('Landscape_1.jpg'));
  const image = await waitForFinalStatus(running.baseUrl, id);
  if (image.status !== 'ready') throw new Error(`the image ended ${image.status}`);
  return { running, id };
}

/** Hot URLs answered from the response cache before the framework (the default), and every request through the full path. */
const SETTINGS = { 'response cache': {}, 'full path only': { PROGIMAGE_RESPONSE_CACHE_MS: '0' } } as const;
const started = new Map<string, Promise<Deployment>>();
const deployment = (name: keyof typeof SETTINGS = 'response cache'): Promise<Deployment> => {
  const existing = started.get(name);
  if (existing !== undefined) return existing;
  const starting = deploy(SETTINGS[name]);
  started.set(name, starting);
  return starting;
};
test.after.always(async () => {
  for (const starting of started.values()) await (await starting).running.stop();
});

const errorCode = (reply: Reply): string => errorSchema.parse(json(reply)).error.code;

/** A URL of image bytes signed for SIGNED_FOR_SECONDS, and its expiry in Unix seconds. */
async function signed(baseUrl: string, path: string): Promise<{ url: string; expires: number }> {
  const reply = await request(`${baseUrl}/v1/signed-urls`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ path, expiresIn: SIGNED_FOR_SECONDS }),
  });
  if (reply.status !== 201) throw new Error(`signing answered ${reply.status}: ${reply.bytes.toString('utf8')}`);
  const { url } = json(reply) as { url: string };
  return { url, expires: Number(new URL(url, baseUrl).searchParams.get('expires')) };
}

/** The headers that describe image bytes, the same for a GET and a HEAD. */
const REPRESENTATION_HEADERS = [
  'content-type',
  'content-length',
  'etag',
  'last-modified',
  'accept-ranges',
  'x-content-type-options',
] as const;
const representationOf = (reply: Reply) => Object.fromEntries(REPRESENTATION_HEADERS.map((name) => [name, reply.headers.get(name)]));

interface ImageUrl {
  readonly label: string;
  readonly url: string;
  /** For a signed URL: its expiry in Unix seconds (it is asked for without a key). */
  readonly expires?: number;
}

/** Checks the headers every answer with image bytes carries; a signed URL's caching ends with it. */
function checkImageHeaders(t: ExecutionContext, reply: Reply, { label, expires }: ImageUrl, askedAt: number): void {
  t.regex(reply.headers.get('content-type') ?? '', /^image\//, label);
  t.regex(reply.headers.get('etag') ?? '', /^"[0-9a-f]{64}"$/, label);
  t.false(Number.isNaN(Date.parse(reply.headers.get('last-modified') ?? '')), `${label}: Last-Modified is a date`);
  t.is(reply.headers.get('accept-ranges'), 'bytes', label);
  t.is(reply.headers.get('x-content-type-options'), 'nosniff', label);
  const caching = reply.headers.get('cache-control') ?? '';
  if (expires === undefined) {
    t.is(caching, 'public, max-age=31536000, immutable', label);
    return;
  }
  const maxAge = /^public, max-age=(\d+)$/.exec(caching)?.[1];
  t.truthy(maxAge, `${label}: ${caching}`);
  t.true(Number(maxAge) <= expires - Math.floor(askedAt / 1000), `${label}: max-age ${maxAge} outlives the signature (expires ${expires})`);
  t.true(Number(maxAge) > SIGNED_FOR_SECONDS - 60, `${label}: max-age ${maxAge}`);
}

/** Checks that an error answer is the API's JSON error. */
function checkJsonError(t: ExecutionContext, reply: Reply, label: string): void {
  t.regex(reply.headers.get('content-type') ?? '', /^application\/json/, label);
  t.true(errorSchema.safeParse(json(reply)).success, `${label}: ${reply.bytes.toString('utf8', 0, 200)}`);
}

/**
 * Every route of image bytes of one image: the stored master, a conversion,
 * one too large to keep in memory (streamed from the store but when just
 * made), a transformation, a variant, and a signed URL.
 */
async function imageUrls(baseUrl: string, id: string): Promise<ImageUrl[]> {
  const signedUrl = await signed(baseUrl, `/v1/images/${id}.webp?w=50`);
  return [
    { label: 'original', url: `/v1/images/${id}.jpg` },
    { label: 'format', url: `/v1/images/${id}.webp` },
    { label: 'streamed', url: `/v1/images/${id}.png` },
    { label: 'transformation', url: `/v1/images/${id}.png?w=40&h=30&fit=cover` },
    { label: 'variant', url: `/v1/images/${id}/variants/thumbnail.webp` },
    { label: 'signed', url: signedUrl.url, expires: signedUrl.expires },
  ];
}

for (const setting of Object.keys(SETTINGS) as (keyof typeof SETTINGS)[]) {
  test(`${setting}: every image URL answers HEAD (before and after a GET), GET, Range and OPTIONS, with the same headers; errors are JSON`, async (t) => {
    t.timeout(300_000);
    const { running, id } = await deployment(setting);
    for (const image of await imageUrls(running.baseUrl, id)) {
      const { label } = image;
      const ask = async (init: RequestInit = {}): Promise<{ reply: Reply; askedAt: number }> => {
        const askedAt = Date.now();
        const url = `${running.baseUrl}${image.url}`;
        return { reply: image.expires === undefined ? await request(url, init) : await anonymousRequest(url, init), askedAt };
      };

      // HEAD first: the bytes may not have been made yet.
      const cold = await ask({ method: 'HEAD' });
      t.is(cold.reply.status, 200, `${label} HEAD`);
      t.is(cold.reply.bytes.length, 0, `${label} HEAD has no body`);
      checkImageHeaders(t, cold.reply, image, cold.askedAt);

      const get = await ask();
      t.is(get.reply.status, 200, `${label} GET: ${get.reply.bytes.toString('utf8', 0, 200)}`);
      checkImageHeaders(t, get.reply, image, get.askedAt);
      const bytes = get.reply.bytes;
      const size = bytes.length;
      t.is(Number(get.reply.headers.get('content-length')), size, label);
      t.truthy((await sharp(bytes).metadata()).format, `${label}: an image`);
      if (label === 'streamed') t.true(size > STREAMED_BYTES, `${label}: ${size} bytes`);
      t.deepEqual(representationOf(cold.reply), representationOf(get.reply), `${label}: HEAD before the GET says what the GET sends`);
      const warm = await ask({ method: 'HEAD' });
      t.is(warm.reply.status, 200);
      t.deepEqual(representationOf(warm.reply), representationOf(get.reply), `${label}: HEAD after it too`);
      const etag = get.reply.headers.get('etag') ?? '';
      const lastModified = get.reply.headers.get('last-modified') ?? '';

      const ranges: [string, number, number][] = [
        ['bytes=10-99', 10, 99],
        ['bytes=-100', size - 100, size - 1],
        [`bytes=${size - 50}-`, size - 50, size - 1],
      ];
      for (const [range, start, end] of ranges) {
        const part = await ask({ headers: { Range: range } });
        t.is(part.reply.status, 206, `${label} ${range}`);
        t.is(part.reply.headers.get('content-range'), `bytes ${start}-${end}/${size}`, `${label} ${range}`);
        t.is(Number(part.reply.headers.get('content-length')), end - start + 1, `${label} ${range}`);
        t.true(part.reply.bytes.equals(bytes.subarray(start, end + 1)), `${label} ${range}: the bytes of the range`);
        checkImageHeaders(t, part.reply, image, part.askedAt);
      }
      const beyond = await ask({ headers: { Range: `bytes=${size}-` } });
      t.is(beyond.reply.status, 416, `${label}: a range past the end`);
      t.is(beyond.reply.headers.get('content-range'), `bytes */${size}`, label);
      checkJsonError(t, beyond.reply, `${label} 416`);
      t.is(errorCode(beyond.reply), 'range_not_satisfiable');

      const conditional: [string, Record<string, string>, number][] = [
        ['If-None-Match', { 'If-None-Match': etag }, 304],
        ['If-Modified-Since', { 'If-Modified-Since': lastModified }, 304],
        ['If-Modified-Since with another ETag', { 'If-None-Match': '"another"', 'If-Modified-Since': lastModified }, 200],
        ['If-Range with the ETag', { Range: 'bytes=0-9', 'If-Range': etag }, 206],
        ['If-Range with the date', { Range: 'bytes=0-9', 'If-Range': lastModified }, 206],
        ['If-Range with an old ETag', { Range: 'bytes=0-9', 'If-Range': '"old"' }, 200],
        ['If-Range with another date', { Range: 'bytes=0-9', 'If-Range': 'Thu, 01 Jan 1970 00:00:00 GMT' }, 200],
      ];
      for (const [name, headers, status] of conditional) {
        const { reply } = await ask({ headers });
        t.is(reply.status, status, `${label}: ${name}`);
        if (status === 200) t.true(reply.bytes.equals(bytes), `${label}: ${name} sends the whole image`);
        if (status === 304) t.is(reply.headers.get('etag'), etag, `${label}: ${name}`);
      }

      const options = await ask({ method: 'OPTIONS' });
      if (options.reply.status >= 400) checkJsonError(t, options.reply, `${label} OPTIONS`);
      else
        t.true(
          ['GET', 'HEAD'].every((method) => options.reply.headers.get('allow')?.split(/,\s*/).includes(method)),
          `${label} OPTIONS`,
        );
      if (image.expires === undefined) t.is(options.reply.status, 200, `${label} OPTIONS with a key`);
    }
  });
}

// Serial: it counts the image's stored results, which the other tests add to.
test.serial('?download names the file safely, in the served format, and stores nothing more; a signed URL covers it', async (t) => {
  const { running, id } = await deployment();
  const stored = async (): Promise<string[]> => {
    await madeBlobsStored(running.baseUrl);
    const keys: string[] = [];
    for await (const blob of running.blobs.list(`derived/default/${id}/`)) keys.push(blob.key);
    return keys.sort();
  };
  const plain = await request(`${running.baseUrl}/v1/images/${id}.webp`);
  const transformed = await request(`${running.baseUrl}/v1/images/${id}.png?w=40&h=30`);
  t.is(plain.headers.get('content-disposition'), null);
  const before = await stored();

  const named = await request(`${running.baseUrl}/v1/images/${id}.webp?download=${encodeURIComponent('../Été 2024.png')}`);
  t.is(named.status, 200);
  t.is(named.headers.get('content-disposition'), `attachment; filename="_Ete 2024.webp"; filename*=UTF-8''_%C3%89t%C3%A9%202024.webp`);
  t.is(named.headers.get('etag'), plain.headers.get('etag'), 'the same bytes');
  const unnamed = await request(`${running.baseUrl}/v1/images/${id}.png?w=40&download&h=30`);
  t.is(unnamed.headers.get('content-disposition'), `attachment; filename="${id}.png"`);
  t.is(unnamed.headers.get('etag'), transformed.headers.get('etag'), 'download is no transform option: the same transformation');
  const head = await request(`${running.baseUrl}/v1/images/${id}/variants/thumbnail.webp?download=thumb`, { method: 'HEAD' });
  t.is(head.headers.get('content-disposition'), 'attachment; filename="thumb.webp"');
  t.deepEqual(await stored(), before, 'no other stored result');

  const twice = await request(`${running.baseUrl}/v1/images/${id}.webp?download=a&download=b`);
  t.is(twice.status, 400);
  t.is(errorCode(twice), 'invalid_query');

  const { url } = await signed(running.baseUrl, `/v1/images/${id}.webp?download=cat`);
  const anonymous = await anonymousRequest(`${running.baseUrl}${url}`);
  t.is(anonymous.status, 200);
  t.is(anonymous.headers.get('content-disposition'), 'attachment; filename="cat.webp"');
  const withoutDownload = new URL(url, running.baseUrl);
  withoutDownload.searchParams.delete('download');
  for (const tampered of [url.replace('download=cat', 'download=dog'), `${withoutDownload.pathname}${withoutDownload.search}`]) {
    const refused = await anonymousRequest(`${running.baseUrl}${tampered}`);
    t.is(refused.status, 403, tampered);
    t.is(errorCode(refused), 'signature_invalid');
  }
});

test('a mask into JPEG shows the background, white unless given; into PNG the corners stay transparent', async (t) => {
  const { running, id } = await deployment();
  const corner = async (query: string, format: string): Promise<number[]> => {
    const reply = await request(`${running.baseUrl}/v1/images/${id}.${format}?${query}`);
    t.is(reply.status, 200, reply.bytes.toString('utf8', 0, 200));
    const { data, info } = await sharp(reply.bytes).raw().toBuffer({ resolveWithObject: true });
    return [...data.subarray(0, info.channels)];
  };
  const white = await corner('w=100&h=100&mask=circle', 'jpg');
  t.true(
    white.every((channel) => channel >= 250),
    `white, not black: [${white.join(', ')}]`,
  );
  const [red = 0, green = 255, blue = 255] = await corner('w=100&h=100&mask=circle&bg=red', 'jpg');
  t.true(red >= 245 && green <= 10 && blue <= 10, `red: [${[red, green, blue].join(', ')}]`);
  t.is((await corner('w=100&h=100&mask=circle', 'png'))[3], 0);
});

test('every error is JSON with the error shape: 405 with Allow (for a method ProgImage does not know too), 404, 413, 415', async (t) => {
  const { running, id } = await deployment();
  const { baseUrl } = running;

  const put = await request(`${baseUrl}/v1/images/${id}`, { method: 'PUT', body: 'x' });
  t.is(put.status, 405);
  checkJsonError(t, put, 'PUT an image');
  t.is(errorCode(put), 'method_not_allowed');
  t.deepEqual(new Set(put.headers.get('allow')?.split(/,\s*/)), new Set(['HEAD', 'GET', 'DELETE']));
  t.deepEqual(new Set((json(put) as { error: { allowed: string[] } }).error.allowed), new Set(['HEAD', 'GET', 'DELETE']));
  // /v1/images/ID.jpg is another path of the document: it is only read, and its Allow says so.
  const deleteRendition = await request(`${baseUrl}/v1/images/${id}.jpg`, { method: 'DELETE' });
  t.is(deleteRendition.status, 405);
  checkJsonError(t, deleteRendition, 'DELETE an image as JPEG');
  t.deepEqual(new Set(deleteRendition.headers.get('allow')?.split(/,\s*/)), new Set(['HEAD', 'GET']));
  t.is((await request(`${baseUrl}/v1/images/${id}.jpg`)).status, 200, 'the image as JPEG is still there');
  const deleteHealth = await anonymousRequest(`${baseUrl}/healthz`, { method: 'DELETE' });
  t.is(deleteHealth.status, 405, 'an open path too');
  checkJsonError(t, deleteHealth, 'DELETE /healthz');
  t.regex(deleteHealth.headers.get('allow') ?? '', /GET/);

  const propfind = await request(`${baseUrl}/v1/images`, { method: 'PROPFIND' });
  t.is(propfind.status, 405);
  checkJsonError(t, propfind, 'PROPFIND');
  t.is(errorCode(propfind), 'method_not_allowed');
  t.regex(propfind.headers.get('allow') ?? '', /POST/);

  for (const path of ['/v1/nothing-here', `/v1/images/${id}/nothing/here`, '/']) {
    const missing = await request(`${baseUrl}${path}`);
    t.is(missing.status, 404, path);
    checkJsonError(t, missing, path);
  }

  const large = await readFixture('2569067123_aca715a2ee_o.jpg');
  t.true(large.length > MAX_UPLOAD_BYTES);
  const raw = await upload(baseUrl, large, 'image/jpeg');
  t.is(raw.status, 413);
  checkJsonError(t, raw, 'a raw upload over the limit');
  const form = new FormData();
  form.append('file', new Blob([large]), 'large.jpg');
  const multipart = await request(`${baseUrl}/v1/images`, { method: 'POST', body: form });
  t.is(multipart.status, 413);
  checkJsonError(t, multipart, 'a multipart upload over the limit');
  t.is(errorCode(multipart), 'payload_too_large');

  const batch = await request(`${baseUrl}/v1/batches`, { method: 'POST', body: 'not json', headers: { 'content-type': 'text/plain' } });
  t.is(batch.status, 415);
  checkJsonError(t, batch, 'a batch that is not JSON');
});
