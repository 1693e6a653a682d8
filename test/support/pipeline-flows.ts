import { randomUUID } from 'node:crypto';
import test from 'ava';
import sharp from 'sharp';
import { EICAR, readFixture } from './fixtures.ts';
import { errorSchema, imageSchema, json, request, upload, uploadAccepted, waitForFinalStatus } from './api.ts';
import { jpegWithEicarComment, OUTPUT_EXTENSIONS, pixelDifference, SHARP_FORMAT, uprightSize } from './images.ts';
import type { RunningProgImage } from './progimage.ts';
import { DEFAULT_TENANT } from '../../lib/ids.ts';
import { ingestCredential, requestIngest } from './upstream.ts';

/** Every fixture kind the pipeline must take in and serve back. */
const ACCEPTED_FIXTURES = [
  '320x240.jpg',
  'flowers.jpeg',
  'Portrait_1.jpg',
  'Channel_digital_image_CMYK_color.jpg',
  '2569067123_aca715a2ee_o.jpg',
  'gain-map.jpg',
  'with-alpha.png',
  'Flag_of_the_Netherlands-16bit.png',
  'bggn4a16.png',
  'grey-plus-alpha.gif',
  'rotating-squares.gif',
  'animated-loop-3.webp',
  '4.webp',
  'pitm.avif',
  'G31D.TIF',
  'G31D_MULTI.TIF',
  'circle.svg',
  'check.svg',
];

const ANIMATED = new Set(['rotating-squares.gif', 'animated-loop-3.webp']);

/**
 * The pipeline's specification, as flows any running ProgImage must pass:
 * registered once per set of adapters (real servers, embedded).
 */
export function registerPipelineFlows(label: string, start: () => Promise<RunningProgImage>): void {
  let running: Promise<RunningProgImage> | undefined;
  const progimage = () => (running ??= start());
  test.after.always(async () => {
    if (running !== undefined) await (await running).stop();
  });

  for (const fixture of ACCEPTED_FIXTURES) {
    test(`${label}: ${fixture} reaches ready and comes back in every format at its upright size`, async (t) => {
      t.timeout(300_000);
      const { baseUrl, config } = await progimage();
      const id = await uploadAccepted(baseUrl, await readFixture(fixture));
      const image = await waitForFinalStatus(baseUrl, id);
      t.is(image.status, 'ready', JSON.stringify(image.failure));
      t.is(image.stages.scan.verdict, config.scan.enabled ? 'clean' : 'unscanned');
      const expected = await uprightSize(fixture);
      t.deepEqual({ width: image.width, height: image.height }, { width: expected.width, height: expected.height });
      for (const extension of OUTPUT_EXTENSIONS) {
        const reply = await request(`${baseUrl}/v1/images/${id}.${extension}`);
        t.is(reply.status, 200, `${extension}: ${reply.bytes.toString('utf8', 0, 200)}`);
        const meta = await sharp(reply.bytes, { animated: true }).metadata();
        const format: string = meta.format;
        t.is(format, SHARP_FORMAT[extension] ?? extension, extension);
        t.deepEqual([meta.width, meta.pageHeight ?? meta.height], [expected.width, expected.height], extension);
        if (ANIMATED.has(fixture) && (extension === 'gif' || extension === 'webp'))
          t.true((meta.pages ?? 1) > 1, `${extension} stays animated`);
      }
      t.true(image.variants.length > 0);
      for (const variant of image.variants) {
        t.true(variant.width <= 800 && variant.height <= 800, `${variant.name}.${variant.format} fits its preset`);
        t.is((await request(`${baseUrl}${variant.url}`)).status, 200, variant.url);
      }
    });
  }

  test(`${label}: EXIF orientations 1-8 all come out 600x450, upright, and without EXIF, GPS or XMP`, async (t) => {
    t.timeout(300_000);
    const { baseUrl } = await progimage();
    const served = await Promise.all(
      [1, 2, 3, 4, 5, 6, 7, 8].map(async (orientation) => {
        const id = await uploadAccepted(baseUrl, await readFixture(`Landscape_${orientation}.jpg`));
        t.is((await waitForFinalStatus(baseUrl, id)).status, 'ready');
        return (await request(`${baseUrl}/v1/images/${id}.jpg`)).bytes;
      }),
    );
    const [upright] = served;
    if (upright === undefined) throw new Error('eight images were served');
    for (const [index, bytes] of served.entries()) {
      const meta = await sharp(bytes).metadata();
      t.deepEqual([meta.width, meta.height], [600, 450], `Landscape_${index + 1}`);
      t.is(meta.exif, undefined);
      t.is(meta.xmp, undefined);
      t.is(meta.orientation, undefined);
      t.false(bytes.includes('Exif\0'), 'no EXIF segment');
      t.false(bytes.includes('ns.adobe.com/xap'), 'no XMP packet');
      t.true((await pixelDifference(bytes, upright)) < 8, `Landscape_${index + 1} looks like Landscape_1`);
    }
  });

  test(`${label}: a CMYK JPEG comes out sRGB with its colours`, async (t) => {
    const { baseUrl } = await progimage();
    const source = await readFixture('Channel_digital_image_CMYK_color.jpg');
    const id = await uploadAccepted(baseUrl, source);
    t.is((await waitForFinalStatus(baseUrl, id)).status, 'ready');
    const served = (await request(`${baseUrl}/v1/images/${id}.png`)).bytes;
    const meta = await sharp(served).metadata();
    t.is(meta.space, 'srgb');
    t.is(meta.channels, 3);
    // sharp's own CMYK→sRGB conversion of the source, through its ICC profile, is the reference.
    t.true((await pixelDifference(served, await sharp(source).toColourspace('srgb').png().toBuffer())) < 6);
  });

  test(`${label}: the bare EICAR file is not an image and gets 415, storing nothing`, async (t) => {
    const { baseUrl } = await progimage();
    const reply = await upload(baseUrl, EICAR, 'image/jpeg');
    t.is(reply.status, 415);
    t.is(errorSchema.parse(json(reply)).error.code, 'unsupported_media_type');
  });

  for (const [fixture, code] of [
    ['corrupt-header.jpg', 'unreadable_image'],
    ['giant-image.jpg', 'too_many_pixels'],
    ['65536-uint32-limit.png', 'too_many_pixels'],
    ['truncated.jpg', 'truncated_image'],
    ['truncated.png', 'truncated_image'],
  ] as const) {
    test(`${label}: ${fixture} is refused at upload with 422 ${code}, and the next good upload succeeds`, async (t) => {
      const { baseUrl } = await progimage();
      const reply = await upload(baseUrl, await readFixture(fixture), 'application/octet-stream');
      t.is(reply.status, 422);
      t.is(errorSchema.parse(json(reply)).error.code, code);
      const good = await uploadAccepted(baseUrl, await readFixture('320x240.jpg'));
      t.is((await waitForFinalStatus(baseUrl, good)).status, 'ready');
    });
  }

  test(`${label}: a JPEG whose data ends early behind a complete structure fails at strip, is served as a 422 JSON error, and the next good upload succeeds`, async (t) => {
    const { baseUrl } = await progimage();
    // truncated.jpg with its end marker put back: the structure is whole, so only decoding finds the damage.
    const damaged = Buffer.concat([await readFixture('truncated.jpg'), Buffer.from([0xff, 0xd9])]);
    const id = await uploadAccepted(baseUrl, damaged);
    const image = await waitForFinalStatus(baseUrl, id);
    t.is(image.status, 'failed');
    t.is(image.failure?.stage, 'strip');
    const reply = await request(`${baseUrl}/v1/images/${id}.jpg`);
    t.is(reply.status, 422);
    t.is(errorSchema.parse(json(reply)).error.code, 'processing_failed');
    const good = await uploadAccepted(baseUrl, await readFixture('flowers.jpeg'));
    t.is((await waitForFinalStatus(baseUrl, good)).status, 'ready');
  });

  test(`${label}: an unknown extension is a 400 naming the supported ones; an unknown id a 404`, async (t) => {
    const { baseUrl } = await progimage();
    const id = await uploadAccepted(baseUrl, await readFixture('320x240.jpg'));
    await waitForFinalStatus(baseUrl, id);
    const bmp = await request(`${baseUrl}/v1/images/${id}.bmp`);
    t.is(bmp.status, 400);
    t.deepEqual((json(bmp) as { error: { supported: string[] } }).error.supported, [
      'jpg',
      'jpeg',
      'png',
      'webp',
      'avif',
      'gif',
      'tif',
      'tiff',
      'auto',
    ]);
    t.is((await request(`${baseUrl}/v1/images/00000000-0000-4000-8000-000000000000`)).status, 404);
    t.is((await request(`${baseUrl}/v1/images/..%2f..%2fetc%2fpasswd.jpg`)).status, 404);
  });

  test(`${label}: served images carry a strong ETag, immutable caching and nosniff, and answer 304 to it`, async (t) => {
    const { baseUrl } = await progimage();
    const id = await uploadAccepted(baseUrl, await readFixture('flowers.jpeg'));
    await waitForFinalStatus(baseUrl, id);
    const first = await request(`${baseUrl}/v1/images/${id}.webp`);
    const etag = first.headers.get('etag') ?? '';
    t.regex(etag, /^"[0-9a-f]{64}"$/);
    t.is(first.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    t.is(first.headers.get('x-content-type-options'), 'nosniff');
    t.is(first.headers.get('content-type'), 'image/webp');
    t.is(Number(first.headers.get('content-length')), first.bytes.length);
    const again = await request(`${baseUrl}/v1/images/${id}.webp`, { headers: { 'If-None-Match': etag } });
    t.is(again.status, 304);
    t.is(again.bytes.length, 0);
  });

  test(`${label}: the same Idempotency-Key returns the same id; reused for other bytes it is refused`, async (t) => {
    const { baseUrl } = await progimage();
    const key = `retry-${String(Date.now())}-${Math.random()}`;
    const bytes = await readFixture('320x240.jpg');
    const first = await upload(baseUrl, bytes, 'image/jpeg', { 'Idempotency-Key': key });
    const second = await upload(baseUrl, bytes, 'image/jpeg', { 'Idempotency-Key': key });
    t.is(first.status, 202);
    t.is(second.status, 202);
    t.is((json(first) as { id: string }).id, (json(second) as { id: string }).id);
    const other = await upload(baseUrl, await readFixture('flowers.jpeg'), 'image/jpeg', { 'Idempotency-Key': key });
    t.is(other.status, 422);
    t.is(errorSchema.parse(json(other)).error.code, 'idempotency_key_reused');
  });

  test(`${label}: a multipart upload of two files accepts both, each with its own id`, async (t) => {
    const { baseUrl } = await progimage();
    const form = new FormData();
    form.append('file', new Blob([await readFixture('320x240.jpg')]), 'one.jpg');
    form.append('file', new Blob([await readFixture('with-alpha.png')]), 'two.png');
    const reply = await request(`${baseUrl}/v1/images`, { method: 'POST', body: form });
    t.is(reply.status, 202, reply.bytes.toString('utf8'));
    const { images } = json(reply) as { images: { id: string }[] };
    t.is(images.length, 2);
    const done = await Promise.all(images.map(({ id }) => waitForFinalStatus(baseUrl, id)));
    t.deepEqual(
      done.map((image) => [image.status, image.format]),
      [
        ['ready', 'jpeg'],
        ['ready', 'png'],
      ],
    );
  });

  test(`${label}: a body over the size limit is refused with 413 and stores nothing`, async (t) => {
    const { baseUrl, config } = await progimage();
    const tooBig = Buffer.alloc(config.uploads.maxBytes + 1, 0xff);
    const reply = await upload(baseUrl, tooBig, 'image/jpeg');
    t.is(reply.status, 413);
    t.is(errorSchema.parse(json(reply)).error.code, 'payload_too_large');
  });

  test(`${label}: an object an upstream put under incoming/ and named in a signed ingest.requested is taken in like an upload, then removed`, async (t) => {
    t.timeout(300_000);
    const running = await progimage();
    const { baseUrl, blobs } = running;
    const jpeg = await readFixture('Landscape_6.jpg');
    const key = `incoming/${DEFAULT_TENANT}/${randomUUID()}/landscape.jpg`;
    await blobs.put(key, jpeg, { contentType: 'image/jpeg' });
    t.teardown(() => blobs.delete(key));
    const id = await requestIngest(running, await ingestCredential(running, DEFAULT_TENANT), DEFAULT_TENANT, {
      key,
      filename: 'landscape.jpg',
    });

    const image = await waitForFinalStatus(baseUrl, id);
    t.is(image.status, 'ready', JSON.stringify(image.failure));
    const expected = await uprightSize('Landscape_6.jpg');
    t.deepEqual({ width: image.width, height: image.height }, { width: expected.width, height: expected.height });
    const served = await request(`${baseUrl}/v1/images/${id}.webp`);
    t.is(served.status, 200);
    t.is((await sharp(served.bytes).metadata()).width, expected.width);
    t.is((await blobs.stat(`originals/default/${id}`))?.size, jpeg.length, 'the original is copied in, private');
    t.is(await blobs.stat(key), null, "the upstream's object is removed once taken in");
  });

  test(`${label}: an ingest request ProgImage cannot take in fails at the upload stage, saying why`, async (t) => {
    t.timeout(300_000);
    const running = await progimage();
    const { baseUrl, blobs } = running;
    const signingKey = await ingestCredential(running, DEFAULT_TENANT);
    const notAnImage = `incoming/${DEFAULT_TENANT}/${randomUUID()}/notes.txt`;
    await blobs.put(notAnImage, Buffer.from('not an image at all\n'), { contentType: 'text/plain' });
    t.teardown(() => blobs.delete(notAnImage));
    const cases = [
      { key: `incoming/${DEFAULT_TENANT}/${randomUUID()}/missing.jpg`, reason: /no blob at/ },
      { key: notAnImage, reason: /not an image in an accepted format/ },
    ];
    for (const { key, reason } of cases) {
      const id = await requestIngest(running, signingKey, DEFAULT_TENANT, { key });
      const image = await waitForFinalStatus(baseUrl, id);
      t.is(image.status, 'failed', key);
      t.is(image.failure?.stage, 'ingest', key);
      t.regex(image.failure?.reason ?? '', reason, key);
      t.is(await blobs.stat(`originals/default/${id}`), null, `${key}: nothing stored`);
    }
  });

  test(`${label}: deleting an image removes it and every blob derived from it`, async (t) => {
    const { baseUrl, blobs } = await progimage();
    const id = await uploadAccepted(baseUrl, await readFixture('320x240.jpg'));
    await waitForFinalStatus(baseUrl, id);
    t.is((await request(`${baseUrl}/v1/images/${id}.png`)).status, 200);
    t.is((await request(`${baseUrl}/v1/images/${id}.png`)).status, 200, 'served again, now from the response cache');
    t.is((await request(`${baseUrl}/v1/images/${id}`, { method: 'DELETE' })).status, 204);
    t.is((await request(`${baseUrl}/v1/images/${id}`)).status, 404);
    t.is((await request(`${baseUrl}/v1/images/${id}.jpg`)).status, 404);
    t.is((await request(`${baseUrl}/v1/images/${id}.png`)).status, 404, 'the cached response is forgotten with its image');
    const left = [];
    for await (const blob of blobs.list(`derived/default/${id}/`)) left.push(blob.key);
    t.deepEqual(left, []);
    t.is(await blobs.stat(`originals/default/${id}`), null);
  });

  test(`${label}: the list pages with a cursor and filters by status`, async (t) => {
    const { baseUrl } = await progimage();
    const ids = await Promise.all([1, 2, 3].map(async () => uploadAccepted(baseUrl, await readFixture('320x240.jpg'))));
    await Promise.all(ids.map((id) => waitForFinalStatus(baseUrl, id)));
    const seen = new Set<string>();
    let cursor: string | null = null;
    do {
      const page = json(await request(`${baseUrl}/v1/images?status=ready&limit=2${cursor === null ? '' : `&cursor=${cursor}`}`)) as {
        images: unknown[];
        next: string | null;
      };
      for (const image of page.images.map((item) => imageSchema.parse(item))) {
        t.is(image.status, 'ready');
        seen.add(image.id);
      }
      cursor = page.next;
    } while (cursor !== null);
    for (const id of ids) t.true(seen.has(id), id);
    t.is((await request(`${baseUrl}/v1/images?status=sideways`)).status, 400);
  });
}

/** Infection flows need a real scanner; both adapter sets get one (clamd of the local stack). */
export function registerInfectionFlows(label: string, start: () => Promise<RunningProgImage>): void {
  test(`${label}: a JPEG with EICAR in a comment is infected, quarantined, never served (410), and nothing derives from it`, async (t) => {
    const running = await start();
    t.teardown(() => running.stop());
    const { baseUrl, blobs } = running;
    const id = await uploadAccepted(baseUrl, await jpegWithEicarComment());
    const image = await waitForFinalStatus(baseUrl, id);
    t.is(image.status, 'infected');
    t.true(image.stages.scan.signatures.some((name) => name.startsWith('ProgImage.Test.EICAR')));
    for (const extension of ['jpg', 'png', 'webp']) {
      const reply = await request(`${baseUrl}/v1/images/${id}.${extension}`);
      t.is(reply.status, 410);
      t.is(errorSchema.parse(json(reply)).error.code, 'infected');
    }
    t.is(await blobs.stat(`originals/default/${id}`), null, 'not in the originals');
    t.not(await blobs.stat(`quarantine/default/${id}`), null, 'kept in quarantine');
    const derived = [];
    for await (const blob of blobs.list(`derived/default/${id}/`)) derived.push(blob.key);
    t.deepEqual(derived, []);
  });
}
