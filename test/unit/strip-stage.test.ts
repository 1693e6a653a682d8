import test from 'ava';
import sharp from 'sharp';
import { DependencyUnavailableError, UnprocessableImageError } from '../../lib/errors.ts';
import { createEvent } from '../../lib/events/envelope.ts';
import type { ImageFormat, ScanVerdict } from '../../lib/events/payloads.ts';
import { TOPICS } from '../../lib/events/topics.ts';
import { BlobNotFoundError } from '../../lib/ports/blob-store.ts';
import { stripStage } from '../../processors/strip/service.ts';
import { createStripStage } from '../../processors/strip/strip-stage.ts';
import { pixelDifference } from '../support/images.ts';
import {
  SUBJECT,
  blobStoreDownForReads,
  emptyBlobStore,
  onePixelJob,
  startStageOnBus,
  storeContents,
  storeFixture,
  withoutIdentity,
} from '../support/stage-harness.ts';

// image.scanned (clean or unscanned) → image.stripped: the master, upright, sRGB, without any metadata,
// under derived/<tenant>/<id>/master.<ext>.

const ORIGINAL_KEY = `originals/default/${SUBJECT.imageId}`;
const masterKey = (extension: string) => `derived/default/${SUBJECT.imageId}/master.${extension}`;

const scanned = (format: ImageFormat, verdict: ScanVerdict = 'clean') =>
  createEvent(TOPICS.imageScanned, SUBJECT, { verdict, signatures: [], original: { key: ORIGINAL_KEY, format } });

/** A strip stage on a store holding fixture `name` as the original. */
async function stripping(name: string) {
  const blobs = await emptyBlobStore();
  const original = await storeFixture(blobs, ORIGINAL_KEY, name);
  return { blobs, original, handle: createStripStage({ blobs, pixelWork: onePixelJob() }) };
}

test('an original with EXIF orientation 6 becomes an upright master: 600x450, its pixels turned, no EXIF and no ICC profile', async (t) => {
  const { blobs, original, handle } = await stripping('Landscape_6.jpg'); // stored 450x600, orientation 6, an ICC profile
  const [stripped, ...more] = await handle(scanned('jpeg'));

  t.is(more.length, 0);
  t.like(stripped, { type: TOPICS.imageStripped, imageId: SUBJECT.imageId, tenant: 'default' });
  const master = await blobs.get(masterKey('jpg'));
  t.deepEqual(stripped?.payload, {
    master: { key: masterKey('jpg'), format: 'jpeg', width: 600, height: 450, bytes: master.length, pages: 1 },
  });
  t.is((await blobs.stat(masterKey('jpg')))?.contentType, 'image/jpeg');
  const meta = await sharp(master).metadata();
  t.like(meta, {
    format: 'jpeg',
    width: 600,
    height: 450,
    orientation: undefined,
    exif: undefined,
    icc: undefined,
    xmp: undefined,
    iptc: undefined,
    space: 'srgb',
  });
  t.true((await pixelDifference(master, await sharp(original).rotate().toBuffer())) < 2, 'the pixels of the original, turned upright');
  t.deepEqual(await blobs.get(ORIGINAL_KEY), original, 'the original is kept as received');
});

test('a baseline sRGB JPEG that is a master already but for its metadata keeps its pixels exactly, its EXIF, XMP and IPTC dropped', async (t) => {
  const { blobs, original, handle } = await stripping('Landscape_1.jpg');
  await handle(scanned('jpeg'));

  const master = await blobs.get(masterKey('jpg'));
  t.like(await sharp(master).metadata(), { width: 600, height: 450, exif: undefined, xmp: undefined, iptc: undefined });
  t.deepEqual(await sharp(master).raw().toBuffer(), await sharp(original).raw().toBuffer(), 'not re-encoded: no generation loss');
  t.true(master.length < original.length);
});

test('a CMYK JPEG with an ICC profile comes out sRGB with three channels and no profile', async (t) => {
  const { blobs, handle } = await stripping('Channel_digital_image_CMYK_color.jpg');
  const [stripped] = await handle(scanned('jpeg'));

  t.like(stripped?.payload, { master: { format: 'jpeg', width: 500, height: 333 } });
  t.like(await sharp(await blobs.get(masterKey('jpg'))).metadata(), { space: 'srgb', channels: 3, hasProfile: false });
});

test('a PNG master keeps its transparency, and an animated GIF master stays animated, as long and looping the same', async (t) => {
  const png = await stripping('with-alpha.png');
  const [pngStripped] = await png.handle(scanned('png'));
  t.like(pngStripped?.payload, { master: { key: masterKey('png'), format: 'png', width: 256, height: 192, pages: 1 } });
  t.like(await sharp(await png.blobs.get(masterKey('png'))).metadata(), { format: 'png', hasAlpha: true, exif: undefined });

  const gif = await stripping('rotating-squares.gif');
  const [gifStripped] = await gif.handle(scanned('gif'));
  t.like(gifStripped?.payload, { master: { key: masterKey('gif'), format: 'gif', width: 80, height: 80, pages: 30 } });
  const animation = await sharp(await gif.blobs.get(masterKey('gif')), { animated: true }).metadata();
  t.like(animation, { format: 'gif', width: 80, pageHeight: 80, loop: 0 });
  // The GIF encoder merges identical consecutive frames (30 become 9), adding up their delays: the animation plays the same.
  t.true((animation.pages ?? 1) > 1);
  t.is(
    animation.delay?.reduce((total, delay) => total + delay, 0),
    30 * 30,
    '30 frames of 30 ms',
  );
});

test('an unscanned original (scanning off) is stripped like a clean one', async (t) => {
  const { blobs, handle } = await stripping('Landscape_6.jpg');
  const [stripped] = await handle(scanned('jpeg', 'unscanned'));
  t.like(stripped?.payload, { master: { key: masterKey('jpg'), width: 600, height: 450 } });
  t.not(await blobs.stat(masterKey('jpg')), null);
});

test('an infected verdict: nothing is read or decoded, nothing written, no event', async (t) => {
  const blobs = await emptyBlobStore(); // the original is in quarantine, not under its key
  const events = await createStripStage({ blobs, pixelWork: onePixelJob() })(scanned('jpeg', 'infected'));
  t.deepEqual(events, []);
  t.deepEqual(await storeContents(blobs), {});
});

for (const name of ['truncated.jpg', 'corrupt-header.jpg', 'truncated.png']) {
  test(`an original that cannot be decoded (${name}) is a permanent failure, and no master is written`, async (t) => {
    const { blobs, handle } = await stripping(name);
    const error = await t.throwsAsync(handle(scanned(name.endsWith('.png') ? 'png' : 'jpeg')), { instanceOf: UnprocessableImageError });
    t.false(error.retriable);
    t.is(error.code, 'unprocessable_image');
    t.deepEqual(Object.keys(await storeContents(blobs)), [ORIGINAL_KEY]);
  });
}

test('an original missing from the blob store is a permanent failure', async (t) => {
  const blobs = await emptyBlobStore();
  const error = await t.throwsAsync(createStripStage({ blobs, pixelWork: onePixelJob() })(scanned('jpeg')), {
    instanceOf: BlobNotFoundError,
  });
  t.false(error.retriable);
});

test('a blob store that does not answer is retriable, and once it answers the master is made', async (t) => {
  const { blobs } = await stripping('Landscape_6.jpg');
  const handle = createStripStage({ blobs: blobStoreDownForReads(blobs, 1), pixelWork: onePixelJob() });
  const error = await t.throwsAsync(handle(scanned('jpeg')), { instanceOf: DependencyUnavailableError });
  t.true(error.retriable);
  t.is(await blobs.stat(masterKey('jpg')), null);
  const [stripped] = await handle(scanned('jpeg'));
  t.like(stripped?.payload, { master: { key: masterKey('jpg'), width: 600, height: 450 } });
});

test('redelivered: the same master under the same key, byte for byte, and the same event', async (t) => {
  const { blobs, handle } = await stripping('Landscape_6.jpg');
  const event = scanned('jpeg');
  const first = await handle(event);
  const afterFirst = await storeContents(blobs);
  const second = await handle(event);

  t.deepEqual(withoutIdentity(second), withoutIdentity(first));
  t.deepEqual(await storeContents(blobs), afterFirst, 'overwritten with the same bytes, no second copy');
  t.deepEqual(Object.keys(afterFirst), [masterKey('jpg'), ORIGINAL_KEY]);
});

test('on the runner: consumes image.scanned as progimage-strip; an undecodable original fails the image at strip at once, permanently', async (t) => {
  const blobs = await emptyBlobStore();
  await storeFixture(blobs, ORIGINAL_KEY, 'corrupt-header.jpg');
  const stage = await startStageOnBus(t, stripStage({ blobs, pixelWork: onePixelJob() }));
  await stage.publish(scanned('jpeg'));

  const [failed] = await stage.events(TOPICS.imageFailed);
  t.like(failed, { imageId: SUBJECT.imageId, payload: { stage: 'strip', permanent: true, attempts: 1 } });
  t.regex(failed?.payload.reason ?? '', /could not be decoded/);
  t.like((await stage.deadLetters())[0], { group: 'progimage-strip', topic: TOPICS.imageScanned });
  t.is(stage.seen(TOPICS.imageStripped).length, 0);
});
