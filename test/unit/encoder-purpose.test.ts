import test from 'ava';
import sharp, { type JpegOptions } from 'sharp';
import { jpegSegments } from '../../lib/imaging/jpeg-segments.ts';
import { canonicalise } from '../../lib/transform/canonical.ts';
import { parseOptions } from '../../lib/transform/options.ts';
import { DEFAULT_PRESETS, parsePresets } from '@progimage/transform-language/schema';
import { runTransform } from '../../lib/transform/run-transform.ts';
import { noOtherImages } from '../../lib/transform/steps/step.ts';
import { makeVariants } from '../../lib/transform/variants.ts';
import { readFixture } from '../support/fixtures.ts';

/*
 * Which JPEG encoder each purpose gets, told from the files themselves: the
 * quantisation tables an encoder writes are its signature. libjpeg-turbo
 * writes the standard tables (ITU T.81 Annex K) scaled to the quality;
 * mozjpeg (sharp's `mozjpeg`) writes its table 3, with trellis quantisation
 * and progressive scans.
 */

/** The DQT segments' contents: the quantisation tables, as the encoder wrote them. */
function quantisationTables(jpeg: Buffer): string {
  const { segments } = jpegSegments(jpeg);
  return segments
    .filter((segment) => segment.marker === 0xdb)
    .map((segment) => jpeg.toString('hex', segment.start + 4, segment.end))
    .join('|');
}

/** The tables sharp writes at `quality` with libjpeg-turbo (its default) or with mozjpeg. */
const tablesOf = async (options: JpegOptions): Promise<string> =>
  quantisationTables(
    await sharp({ create: { width: 16, height: 16, channels: 3, background: 'grey' } })
      .jpeg(options)
      .toBuffer(),
  );
const libjpegTurbo = (quality: number) => tablesOf({ quality });
const mozjpeg = (quality: number) => tablesOf({ quality, mozjpeg: true });

const transform = async (query: Record<string, string>) =>
  (
    await runTransform(
      { bytes: await readFixture('320x240.jpg'), format: 'jpeg', upright: true },
      canonicalise(parseOptions(query), 'jpeg'),
      {
        resources: noOtherImages('none here'),
        deadline: Date.now() + 60_000,
      },
    )
  ).data;

test('the two encoders are told apart by their quantisation tables', async (t) => {
  t.not(await libjpegTurbo(82), await mozjpeg(82));
});

test("a just-in-time JPEG is libjpeg-turbo's, baseline, at the delivery quality", async (t) => {
  const output = await transform({ w: '200' });
  t.is(quantisationTables(output), await libjpegTurbo(82));
  t.false((await sharp(output).metadata()).isProgressive);
  t.is(quantisationTables(await transform({ w: '200', q: '60' })), await libjpegTurbo(60));
});

test('effort=1 asks for mozjpeg on request, and effort=0 for libjpeg-turbo', async (t) => {
  const output = await transform({ w: '200', effort: '1' });
  t.is(quantisationTables(output), await mozjpeg(82));
  t.true((await sharp(output).metadata()).isProgressive);
  t.is(quantisationTables(await transform({ w: '200', effort: '0' })), await libjpegTurbo(82));
});

test("a preset's JPEG variant, built once and served many times, is mozjpeg's", async (t) => {
  const master = { bytes: await readFixture('320x240.jpg'), format: 'jpeg' as const, pages: 1, width: 320, height: 240, upright: true };
  const jpegs = [];
  for await (const variant of makeVariants(master, parsePresets(DEFAULT_PRESETS), 60_000)) {
    if (variant.image.format === 'jpeg') jpegs.push(variant.image.data);
  }
  t.is(jpegs.length, Object.keys(DEFAULT_PRESETS).length);
  for (const jpeg of jpegs) {
    t.is(quantisationTables(jpeg), await mozjpeg(82));
    t.true((await sharp(jpeg).metadata()).isProgressive);
  }
});
