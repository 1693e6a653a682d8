import test from 'ava';
import sharp from 'sharp';
import { OUTPUT_FORMATS } from '@progimage/transform-language';
import { fitsFormat, MAX_SIDE } from '../../lib/imaging/format-limits.ts';
import { encodeAs } from '../../lib/imaging/codec.ts';
import { DomainError } from '../../lib/errors.ts';
import { answerOf } from '../support/error-answer.ts';
import { canonicalise } from '../../lib/transform/canonical.ts';
import { parseOptions } from '../../lib/transform/options.ts';
import { parsePresets } from '@progimage/transform-language/schema';
import { runTransform, runTransformInFormats } from '../../lib/transform/run-transform.ts';
import { noOtherImages } from '../../lib/transform/steps/step.ts';
import { makeVariants } from '../../lib/transform/variants.ts';

/** Longer than any limit in the table: PNG and TIFF, which have none, must write it. */
const BEYOND_EVERY_LIMIT = 100_000;

/** A grey image `width` pixels wide and one high, written as `format` by ProgImage's encoder settings. */
const encodedRow = (width: number, format: (typeof OUTPUT_FORMATS)[number]) =>
  encodeAs(sharp({ create: { width, height: 1, channels: 3, background: '#808080' } }), format, 'just-in-time').toBuffer();

for (const format of OUTPUT_FORMATS) {
  const maxSide = MAX_SIDE[format];
  test(`${format}: the table's longest side (${maxSide ?? 'none'}) is the encoder's`, async (t) => {
    if (maxSide === null) {
      t.is((await sharp(await encodedRow(BEYOND_EVERY_LIMIT, format)).metadata()).width, BEYOND_EVERY_LIMIT);
      return;
    }
    t.is((await sharp(await encodedRow(maxSide, format)).metadata()).width, maxSide);
    await t.throwsAsync(encodedRow(maxSide + 1, format));
    t.true(fitsFormat({ width: 1, height: maxSide }, format));
    t.false(fitsFormat({ width: 1, height: maxSide + 1 }, format));
  });
}

const wideSource = async () => ({
  bytes: await sharp({ create: { width: 16_384, height: 16, channels: 3, background: '#336699' } })
    .png()
    .toBuffer(),
  format: 'png' as const,
  upright: true,
});
const options = { resources: noOtherImages('no other images here'), deadline: Date.now() + 60_000 };

test("a transformation past its format's limit is a 400 naming the format and the limit, before any pixel is touched", async (t) => {
  const source = await wideSource();
  const error = await t.throwsAsync(runTransform(source, canonicalise(parseOptions({ grayscale: 'true' }), 'webp'), options), {
    instanceOf: DomainError,
  });
  t.like(answerOf(error), {
    status: 400,
    code: 'format_limit_exceeded',
    details: { format: 'webp', maxSide: 16_383, width: 16_384, height: 16 },
  });
  const fitted = await runTransform(source, canonicalise(parseOptions({ grayscale: 'true', w: '16383' }), 'webp'), options);
  t.is(fitted.width, 16_383);
});

test('one transformation in several formats refuses a format that cannot hold it', async (t) => {
  const source = await wideSource();
  const transforms = (['png', 'webp'] as const).map((format) => canonicalise(parseOptions({ grayscale: 'true' }), format));
  const error = await t.throwsAsync(runTransformInFormats(source, transforms, options), { instanceOf: DomainError });
  t.like(error, { code: 'format_limit_exceeded', details: { format: 'webp' } });
});

test('variants are made in every variant format that can hold them, and no other', async (t) => {
  const master = { ...(await wideSource()), pages: 1, width: 16_384, height: 16 };
  const presets = parsePresets({ small: { width: 200 }, grey: { grayscale: true } });
  const made: string[] = [];
  for await (const variant of makeVariants(master, presets, 60_000))
    made.push(`${variant.name}.${variant.image.format} ${variant.image.width}`);
  t.deepEqual(made.sort(), ['grey.avif 16384', 'grey.png 16384', 'small.avif 200', 'small.png 200', 'small.webp 200']);
});
