import test, { type ExecutionContext } from 'ava';
import sharp from 'sharp';
import { UnprocessableImageError } from '../../lib/errors.ts';
import { jpegSegments } from '../../lib/imaging/jpeg-segments.ts';
import { makeMaster } from '../../lib/imaging/master.ts';
import { readFixture } from '../support/fixtures.ts';

/*
 * The master every derivative is made from: upright, sRGB, without metadata,
 * and quick to decode (baseline). A JPEG that is all that but for its
 * metadata keeps its own compressed pixels.
 */

/** The entropy-coded data of each scan: a JPEG's pixels, compressed. */
const scans = (jpeg: Buffer): Buffer[] =>
  jpegSegments(jpeg)
    .segments.filter((segment) => segment.marker === 0xda)
    .map((segment) => jpeg.subarray(segment.start, segment.end));

const rawPixels = async (jpeg: Buffer): Promise<Buffer> => sharp(jpeg).raw().toBuffer();

async function assertNoMetadata(t: ExecutionContext, master: Buffer): Promise<void> {
  const meta = await sharp(master).metadata();
  t.is(meta.exif, undefined);
  t.is(meta.xmp, undefined);
  t.is(meta.icc, undefined);
  t.is(meta.iptc, undefined);
  t.is(meta.comments, undefined);
  t.is(meta.orientation, undefined);
  t.false(master.includes('Exif\0'), 'no EXIF segment');
  t.false(master.includes('ns.adobe.com/xap'), 'no XMP packet');
}

test('an upright sRGB baseline JPEG keeps its own pixels, bit for bit, without its EXIF and XMP', async (t) => {
  const original = await readFixture('flowers.jpeg');
  const before = await sharp(original).metadata();
  t.truthy(before.exif);
  t.truthy(before.xmp);
  const master = await makeMaster(original, 'jpeg');
  t.like(master, { format: 'jpeg', width: 1920, height: 1080, pages: 1 });
  await assertNoMetadata(t, master.data);
  t.deepEqual(scans(master.data), scans(original), 'the same entropy-coded data: no generation loss');
  t.true((await rawPixels(master.data)).equals(await rawPixels(original)));
});

test('a JPEG that needs turning upright or converting is encoded again: baseline, upright, sRGB, no metadata', async (t) => {
  for (const [fixture, chroma] of [
    ['Landscape_3.jpg', '4:2:0'], // EXIF orientation 3, 4:2:0
    ['320x240.jpg', '4:4:4'], // an ICC profile, 4:4:4
    ['Channel_digital_image_CMYK_color.jpg', '4:4:4'], // CMYK
  ] as const) {
    const master = await makeMaster(await readFixture(fixture), 'jpeg');
    const meta = await sharp(master.data).metadata();
    t.false(meta.isProgressive, fixture);
    t.is(meta.space, 'srgb', fixture);
    t.is(meta.chromaSubsampling, chroma, `${fixture} keeps its chroma resolution`);
    await assertNoMetadata(t, master.data);
  }
  const upright = await makeMaster(await readFixture('Landscape_3.jpg'), 'jpeg');
  t.like(upright, { width: 600, height: 450 });
});

test('a progressive JPEG is encoded again as a baseline one, quicker to decode', async (t) => {
  const progressive = await sharp(await readFixture('flowers.jpeg'))
    .jpeg({ quality: 90, progressive: true })
    .toBuffer();
  const master = await makeMaster(progressive, 'jpeg');
  t.false((await sharp(master.data).metadata()).isProgressive);
});

test('a JPEG whose data ends early behind a complete structure fails as undecodable', async (t) => {
  const damaged = Buffer.concat([await readFixture('truncated.jpg'), Buffer.from([0xff, 0xd9])]);
  await t.throwsAsync(makeMaster(damaged, 'jpeg'), { instanceOf: UnprocessableImageError });
});

test("what follows the image (a multi-picture file's further pictures) is left out", async (t) => {
  const original = await readFixture('flowers.jpeg');
  const master = await makeMaster(Buffer.concat([original, original]), 'jpeg');
  const { segments, end } = jpegSegments(master.data);
  t.is(end, 'eoi');
  t.is(segments.at(-1)?.end, master.data.length);
});
