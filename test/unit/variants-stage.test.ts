import test from 'ava';
import sharp from 'sharp';
import { DeadlineExceededError, DependencyUnavailableError, UnprocessableImageError } from '../../lib/errors.ts';
import { createEvent } from '../../lib/events/envelope.ts';
import { TOPICS } from '../../lib/events/topics.ts';
import type { EncodedImage } from '../../lib/imaging/codec.ts';
import { EXTENSIONS, type OutputFormat } from '../../lib/imaging/formats.ts';
import { makeMaster } from '../../lib/imaging/master.ts';
import type { BlobStore } from '../../lib/ports/blob-store.ts';
import { variantsStage } from '../../processors/variants/service.ts';
import { createVariantsStage } from '../../processors/variants/variants-stage.ts';
import { DEFAULT_PRESETS, parsePresets, type Presets } from '@progimage/transform-language/schema';
import { readFixture } from '../support/fixtures.ts';
import { SHARP_FORMAT } from '../support/images.ts';
import {
  SUBJECT,
  blobStoreDownForReads,
  emptyBlobStore,
  onlyEvent,
  onePixelJob,
  startStageOnBus,
  storeContents,
  withoutIdentity,
} from '../support/stage-harness.ts';

// image.compressed → image.variants-built: every preset in WebP, AVIF and the master's own format (no AVIF for an
// animation), made from the master, under derived/<tenant>/<id>/variants/<preset>.<ext>.

const masterKey = (format: OutputFormat) => `derived/default/${SUBJECT.imageId}/compressed.${EXTENSIONS[format]}`;
const variantKey = (name: string, extension: string) => `derived/default/${SUBJECT.imageId}/variants/${name}.${extension}`;

const compressed = ({ format, width, height, pages, data }: EncodedImage) =>
  createEvent(TOPICS.imageCompressed, SUBJECT, {
    master: { key: masterKey(format), format, width, height, bytes: data.length, pages },
    bytesBefore: data.length,
    bytesAfter: data.length,
    kept: true,
  });

/** The transformation settings as configured by default: the default presets, a minute each. */
const defaultSettings = () => ({ presets: parsePresets(DEFAULT_PRESETS), timeoutMs: 60_000, presetsOnly: false });

async function storeMaster(blobs: BlobStore, name: string, format: 'jpeg' | 'gif'): Promise<EncodedImage> {
  const master = await makeMaster(await readFixture(name), format);
  await blobs.put(masterKey(master.format), master.data, { contentType: `image/${format}` });
  return master;
}

/** The variants stage with `presets` in force, a master of fixture `name` in its store. */
async function buildingVariants(
  name: string,
  format: 'jpeg' | 'gif',
  presets: Presets = parsePresets(DEFAULT_PRESETS),
  timeoutMs = 60_000,
) {
  const blobs = await emptyBlobStore();
  const master = await storeMaster(blobs, name, format);
  return {
    blobs,
    master,
    handle: createVariantsStage({ blobs, transforms: () => ({ presets, timeoutMs, presetsOnly: false }), pixelWork: onePixelJob() }),
  };
}

test('the default presets (thumbnail 200, medium 800, inside) in WebP, AVIF and JPEG: each stored, named in the event, fitting its box', async (t) => {
  const { blobs, master, handle } = await buildingVariants('flowers.jpeg', 'jpeg'); // 1920x1080
  const built = onlyEvent(await handle(compressed(master)), TOPICS.imageVariantsBuilt);

  t.like(built, { imageId: SUBJECT.imageId, tenant: 'default' });
  const { variants } = built.payload;
  t.deepEqual(
    variants.map(({ name, format, key }) => [name, format, key]),
    [
      ['thumbnail', 'webp', variantKey('thumbnail', 'webp')],
      ['thumbnail', 'avif', variantKey('thumbnail', 'avif')],
      ['thumbnail', 'jpeg', variantKey('thumbnail', 'jpg')],
      ['medium', 'webp', variantKey('medium', 'webp')],
      ['medium', 'avif', variantKey('medium', 'avif')],
      ['medium', 'jpeg', variantKey('medium', 'jpg')],
    ],
  );
  for (const variant of variants) {
    const box = variant.name === 'thumbnail' ? 200 : 800;
    t.is(variant.width, box, `${variant.key}: as wide as its box`);
    t.is(variant.height, Math.round((box * 1080) / 1920), `${variant.key}: the master's proportions`);
    t.is(variant.pages, 1);
    const stored = await blobs.get(variant.key);
    t.is(variant.bytes, stored.length);
    t.like(await sharp(stored).metadata(), {
      format: SHARP_FORMAT[EXTENSIONS[variant.format]],
      width: variant.width,
      height: variant.height,
      exif: undefined,
    });
    t.is((await blobs.stat(variant.key))?.contentType, `image/${variant.format}`);
  }
  t.deepEqual(
    Object.keys(await storeContents(blobs)).sort(),
    [masterKey('jpeg'), ...variants.map(({ key }) => key)].sort(),
    'nothing else written',
  );
});

test('an image smaller than a preset is not enlarged', async (t) => {
  const { master, handle } = await buildingVariants('320x240.jpg', 'jpeg');
  const built = onlyEvent(await handle(compressed(master)), TOPICS.imageVariantsBuilt);
  const medium = built.payload.variants.filter(({ name }) => name === 'medium');
  t.is(medium.length, 3);
  for (const variant of medium) t.like(variant, { width: 320, height: 240 });
});

test('the presets in force when the event is handled are the ones made', async (t) => {
  const presets = parsePresets({ square: { width: 64, height: 64, fit: 'cover' } });
  const { master, handle } = await buildingVariants('flowers.jpeg', 'jpeg', presets);
  const built = onlyEvent(await handle(compressed(master)), TOPICS.imageVariantsBuilt);
  t.deepEqual(
    built.payload.variants.map(({ name, format, width, height }) => [name, format, width, height]),
    [
      ['square', 'webp', 64, 64],
      ['square', 'avif', 64, 64],
      ['square', 'jpeg', 64, 64],
    ],
  );
});

test('an animated master: WebP and GIF variants that stay animated, and no AVIF (which would be a still)', async (t) => {
  const presets = parsePresets({ small: { width: 40, height: 40, fit: 'inside' } });
  const { blobs, master, handle } = await buildingVariants('rotating-squares.gif', 'gif', presets);
  const built = onlyEvent(await handle(compressed(master)), TOPICS.imageVariantsBuilt);
  t.deepEqual(
    built.payload.variants.map(({ format, width, height }) => [format, width, height]),
    [
      ['webp', 40, 40],
      ['gif', 40, 40],
    ],
  );
  for (const variant of built.payload.variants) {
    t.true(variant.pages > 1, `${variant.key} is animated`);
    t.like(await sharp(await blobs.get(variant.key), { animated: true }).metadata(), { pageHeight: 40, pages: variant.pages });
  }
});

test('a master that cannot be decoded is a permanent failure, and no variant is written', async (t) => {
  const blobs = await emptyBlobStore();
  const broken = await readFixture('truncated.jpg');
  await blobs.put(masterKey('jpeg'), broken, { contentType: 'image/jpeg' });
  const handle = createVariantsStage({ blobs, transforms: defaultSettings, pixelWork: onePixelJob() });
  const error = await t.throwsAsync(handle(compressed({ data: broken, format: 'jpeg', width: 2725, height: 2225, pages: 1 })), {
    instanceOf: UnprocessableImageError,
  });
  t.false(error.retriable);
  t.deepEqual(Object.keys(await storeContents(blobs)), [masterKey('jpeg')]);
});

test('variants that do not finish within the transformation deadline are retriable (DeadlineExceededError)', async (t) => {
  const { master, handle } = await buildingVariants('flowers.jpeg', 'jpeg', parsePresets(DEFAULT_PRESETS), 0);
  const error = await t.throwsAsync(handle(compressed(master)), { instanceOf: DeadlineExceededError });
  t.true(error.retriable);
});

test('a blob store that does not answer is retriable; once it answers the variants are made', async (t) => {
  const { blobs, master } = await buildingVariants('320x240.jpg', 'jpeg');
  const handle = createVariantsStage({
    blobs: blobStoreDownForReads(blobs, 1),
    transforms: defaultSettings,
    pixelWork: onePixelJob(),
  });
  const error = await t.throwsAsync(handle(compressed(master)), { instanceOf: DependencyUnavailableError });
  t.true(error.retriable);
  t.is(onlyEvent(await handle(compressed(master)), TOPICS.imageVariantsBuilt).payload.variants.length, 6);
});

test('redelivered: the same variants under the same keys, byte for byte, and the same event', async (t) => {
  const { blobs, master, handle } = await buildingVariants('320x240.jpg', 'jpeg');
  const event = compressed(master);
  const first = await handle(event);
  const afterFirst = await storeContents(blobs);
  const second = await handle(event);

  t.deepEqual(withoutIdentity(second), withoutIdentity(first));
  t.deepEqual(await storeContents(blobs), afterFirst);
  t.is(Object.keys(afterFirst).length, 1 + 6);
});

test('on the runner: consumes image.compressed as progimage-variants; a missing master fails the image at variants, permanently', async (t) => {
  const blobs = await emptyBlobStore();
  const stage = await startStageOnBus(t, variantsStage({ blobs, transforms: defaultSettings, pixelWork: onePixelJob() }));
  await stage.publish(compressed({ data: Buffer.alloc(10), format: 'jpeg', width: 1, height: 1, pages: 1 }));

  const [failed] = await stage.events(TOPICS.imageFailed);
  t.like(failed, { payload: { stage: 'variants', permanent: true, attempts: 1 } });
  t.like((await stage.deadLetters())[0], { group: 'progimage-variants', topic: TOPICS.imageCompressed });
  t.is(stage.seen(TOPICS.imageVariantsBuilt).length, 0);
});
