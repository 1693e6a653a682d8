import test from 'ava';
import sharp from 'sharp';
import { DependencyUnavailableError, UnprocessableImageError } from '../../lib/errors.ts';
import { createEvent } from '../../lib/events/envelope.ts';
import { TOPICS } from '../../lib/events/topics.ts';
import { encodeAs, openImage, render, type EncodedImage } from '../../lib/imaging/codec.ts';
import { EXTENSIONS, type OutputFormat } from '../../lib/imaging/formats.ts';
import { makeMaster } from '../../lib/imaging/master.ts';
import type { BlobStore } from '../../lib/ports/blob-store.ts';
import { createCompressStage } from '../../processors/compress/compress-stage.ts';
import { compressStage } from '../../processors/compress/service.ts';
import { readFixture } from '../support/fixtures.ts';
import { pixelDifference } from '../support/images.ts';
import {
  SUBJECT,
  blobStoreDownForReads,
  emptyBlobStore,
  onePixelJob,
  startStageOnBus,
  storeContents,
  withoutIdentity,
} from '../support/stage-harness.ts';

// image.stripped → image.compressed: the master re-encoded in its own format with the compact profile
// (mozjpeg for JPEG, deflate at its best for PNG), kept under derived/<tenant>/<id>/compressed.<ext> only when smaller.

const masterKey = (format: OutputFormat) => `derived/default/${SUBJECT.imageId}/master.${EXTENSIONS[format]}`;
const compressedKey = (format: OutputFormat) => `derived/default/${SUBJECT.imageId}/compressed.${EXTENSIONS[format]}`;

const stripped = ({ format, width, height, pages, data }: EncodedImage) =>
  createEvent(TOPICS.imageStripped, SUBJECT, { master: { key: masterKey(format), format, width, height, bytes: data.length, pages } });

/** The master the strip stage makes of fixture `name`, stored under its key. */
async function storeMaster(blobs: BlobStore, name: string, format: 'jpeg' | 'png'): Promise<EncodedImage> {
  const master = await makeMaster(await readFixture(name), format);
  await blobs.put(masterKey(master.format), master.data, { contentType: `image/${format}` });
  return master;
}

async function compressing(name: string, format: 'jpeg' | 'png') {
  const blobs = await emptyBlobStore();
  const master = await storeMaster(blobs, name, format);
  return { blobs, master, handle: createCompressStage({ blobs, pixelWork: onePixelJob() }) };
}

test('a JPEG master made smaller is kept: compressed.jpg, the event names it as the master, same size in pixels, visually the same', async (t) => {
  const { blobs, master, handle } = await compressing('Landscape_6.jpg', 'jpeg');
  const [compressed, ...more] = await handle(stripped(master));

  t.is(more.length, 0);
  t.like(compressed, { type: TOPICS.imageCompressed, imageId: SUBJECT.imageId, tenant: 'default' });
  const stored = await blobs.get(compressedKey('jpeg'));
  t.deepEqual(compressed?.payload, {
    master: { key: compressedKey('jpeg'), format: 'jpeg', width: 600, height: 450, bytes: stored.length, pages: 1 },
    bytesBefore: master.data.length,
    bytesAfter: stored.length,
    kept: true,
  });
  t.true(stored.length < master.data.length * 0.75, `${stored.length} bytes from ${master.data.length}`);
  t.like(await sharp(stored).metadata(), { format: 'jpeg', width: 600, height: 450, exif: undefined, icc: undefined });
  t.true((await pixelDifference(stored, master.data)) < 2, 'visually lossless');
  t.is((await blobs.stat(compressedKey('jpeg')))?.contentType, 'image/jpeg');
  t.deepEqual(await blobs.get(masterKey('jpeg')), master.data, 'the stripped master stays');
});

test('a PNG master made smaller is kept as PNG, losslessly, its transparency intact', async (t) => {
  const { blobs, master, handle } = await compressing('with-alpha.png', 'png');
  const [compressed] = await handle(stripped(master));

  t.like(compressed?.payload, { master: { key: compressedKey('png'), format: 'png', width: 256, height: 192 }, kept: true });
  const stored = await blobs.get(compressedKey('png'));
  t.true(stored.length < master.data.length);
  t.deepEqual(await sharp(stored).raw().toBuffer(), await sharp(master.data).raw().toBuffer(), 'every pixel, alpha included');
});

test('a master the compact encoding would not make smaller is kept as it is: kept false, the same master, nothing written', async (t) => {
  const larger = await compressing('bggn4a16.png', 'png'); // a 16-bit PNG that grows when re-encoded
  const [compressed] = await larger.handle(stripped(larger.master));
  t.deepEqual(compressed?.payload, {
    master: stripped(larger.master).payload.master,
    bytesBefore: larger.master.data.length,
    bytesAfter: larger.master.data.length,
    kept: false,
  });
  t.deepEqual(Object.keys(await storeContents(larger.blobs)), [masterKey('png')]);

  // Compressed already: the same number of bytes again is no gain either.
  const blobs = await emptyBlobStore();
  const compact = await render(encodeAs(openImage(await readFixture('with-alpha.png'), 'png'), 'png', 'compact'), 'png');
  await blobs.put(masterKey('png'), compact.data, { contentType: 'image/png' });
  const [again] = await createCompressStage({ blobs, pixelWork: onePixelJob() })(stripped(compact));
  t.like(again?.payload, { kept: false, bytesAfter: compact.data.length, master: { key: masterKey('png') } });
});

test('a master that cannot be decoded is a permanent failure, and nothing is written', async (t) => {
  const blobs = await emptyBlobStore();
  const broken = await readFixture('truncated.jpg');
  await blobs.put(masterKey('jpeg'), broken, { contentType: 'image/jpeg' });
  const handle = createCompressStage({ blobs, pixelWork: onePixelJob() });
  const error = await t.throwsAsync(handle(stripped({ data: broken, format: 'jpeg', width: 2725, height: 2225, pages: 1 })), {
    instanceOf: UnprocessableImageError,
  });
  t.false(error.retriable);
  t.deepEqual(Object.keys(await storeContents(blobs)), [masterKey('jpeg')]);
});

test('a blob store that does not answer is retriable; once it answers the master is compressed', async (t) => {
  const { blobs, master } = await compressing('Landscape_6.jpg', 'jpeg');
  const handle = createCompressStage({ blobs: blobStoreDownForReads(blobs, 1), pixelWork: onePixelJob() });
  const error = await t.throwsAsync(handle(stripped(master)), { instanceOf: DependencyUnavailableError });
  t.true(error.retriable);
  t.is(await blobs.stat(compressedKey('jpeg')), null);
  t.like((await handle(stripped(master)))[0]?.payload, { kept: true });
});

test('redelivered: the same compressed blob under the same key, and the same event', async (t) => {
  const { blobs, master, handle } = await compressing('Landscape_6.jpg', 'jpeg');
  const event = stripped(master);
  const first = await handle(event);
  const afterFirst = await storeContents(blobs);
  const second = await handle(event);

  t.deepEqual(withoutIdentity(second), withoutIdentity(first));
  t.deepEqual(await storeContents(blobs), afterFirst);
  t.deepEqual(Object.keys(afterFirst), [compressedKey('jpeg'), masterKey('jpeg')]);
});

test('on the runner: consumes image.stripped as progimage-compress; a missing master fails the image at compress, permanently', async (t) => {
  const blobs = await emptyBlobStore();
  const stage = await startStageOnBus(t, compressStage({ blobs, pixelWork: onePixelJob() }));
  await stage.publish(stripped({ data: Buffer.alloc(10), format: 'jpeg', width: 1, height: 1, pages: 1 }));

  const [failed] = await stage.events(TOPICS.imageFailed);
  t.like(failed, { payload: { stage: 'compress', permanent: true, attempts: 1 } });
  t.regex(failed?.payload.reason ?? '', /no blob at derived\/default\/.*\/master\.jpg/);
  t.like((await stage.deadLetters())[0], { group: 'progimage-compress', topic: TOPICS.imageStripped });
});
