import test, { type ExecutionContext } from 'ava';
import sharp from 'sharp';
import type { ImageFormat, OutputFormat } from '../../lib/events/payloads.ts';
import { DomainError } from '../../lib/errors.ts';
import { answerOf } from '../support/error-answer.ts';
import type { ImageId } from '../../lib/ids.ts';
import type { EncodedImage } from '../../lib/imaging/codec.ts';
import { canonicalise } from '../../lib/transform/canonical.ts';
import { parseOptions } from '../../lib/transform/options.ts';
import { runTransform, runTransformInFormats } from '../../lib/transform/run-transform.ts';
import type { TransformResources } from '../../lib/transform/steps/step.ts';
import { readFixture } from '../support/fixtures.ts';

/*
 * Every operation of the transform language, run the way a request runs it
 * (parseOptions → canonicalise → runTransform) on real fixtures and on small
 * synthetic images whose pixels are known, the output decoded and checked.
 */

type Rgb = readonly [number, number, number];
const RED: Rgb = [255, 0, 0];
const GREEN: Rgb = [0, 255, 0];
const BLUE: Rgb = [0, 0, 255];
const WHITE: Rgb = [255, 255, 255];
const MAGENTA: Rgb = [255, 0, 255];

// ---------------------------------------------------------------- images

/** An opaque PNG of `width`x`height` in one colour. */
const solid = (width: number, height: number, [r, g, b]: Rgb): Promise<Buffer> =>
  sharp({ create: { width, height, channels: 3, background: { r, g, b } } })
    .png()
    .toBuffer();

/** A PNG from a function of each pixel's position. */
function drawn(width: number, height: number, colourAt: (x: number, y: number) => readonly number[], channels: 3 | 4 = 3): Promise<Buffer> {
  const data = Buffer.alloc(width * height * channels);
  for (let y = 0; y < height; y += 1) {
    for (let x = 0; x < width; x += 1) data.set(colourAt(x, y).slice(0, channels), (y * width + x) * channels);
  }
  return sharp(data, { raw: { width, height, channels } }).png().toBuffer();
}

/**
 * 40x20, a colour a quadrant: red top-left, blue top-right, green
 * bottom-left, white bottom-right. Where each colour ends up shows what a
 * geometry operation did.
 */
const quadrants = (): Promise<Buffer> => drawn(40, 20, (x, y) => (y < 10 ? (x < 20 ? RED : BLUE) : x < 20 ? GREEN : WHITE));

// ---------------------------------------------------------------- stored images for mask and overlay

const ids = {
  withAlpha: '00000000-0000-4000-8000-000000000001',
  photo: '00000000-0000-4000-8000-000000000002',
  redPatch: '00000000-0000-4000-8000-000000000003',
  leftHalf: '00000000-0000-4000-8000-000000000004',
} as const satisfies Record<string, ImageId>;

const stored = new Map<string, () => Promise<Buffer>>([
  [ids.withAlpha, () => readFixture('with-alpha.png')],
  [ids.photo, () => readFixture('320x240.jpg')],
  // An opaque 30x20 red patch: a watermark whose pixels are easy to find.
  [ids.redPatch, () => solid(30, 20, RED)],
  // 40x20, opaque on the left half, transparent on the right.
  [ids.leftHalf, () => drawn(40, 20, (x) => [255, 255, 255, x < 20 ? 255 : 0], 4)],
]);

/** The stored images, and a record of which ones a transformation loaded. */
function storedImages(): TransformResources & { readonly loaded: string[] } {
  const loaded: string[] = [];
  return {
    loaded,
    async loadImage(id: ImageId): Promise<Buffer> {
      loaded.push(id);
      const load = stored.get(id);
      if (load === undefined) throw new Error(`no stored image ${id}`);
      return load();
    },
  };
}

// ---------------------------------------------------------------- running and reading

/** Runs a query the way a request does on a stored (upright) image: parsed, canonicalised for `output`, applied. */
function transform(
  bytes: Buffer,
  format: ImageFormat,
  query: Readonly<Record<string, string>>,
  output: OutputFormat = 'png',
  { deadline = Date.now() + 120_000, resources = storedImages() }: { deadline?: number; resources?: TransformResources } = {},
): Promise<EncodedImage> {
  return runTransform({ bytes, format, upright: true }, canonicalise(parseOptions(query), output), { resources, deadline });
}

async function fixture(name: string, query: Readonly<Record<string, string>>, output: OutputFormat = 'png'): Promise<EncodedImage> {
  const format: ImageFormat = name.endsWith('.png') ? 'png' : name.endsWith('.gif') ? 'gif' : name.endsWith('.webp') ? 'webp' : 'jpeg';
  return transform(await readFixture(name), format, query, output);
}

interface Pixels {
  readonly data: Buffer;
  readonly width: number;
  readonly height: number;
  readonly channels: number;
}

/** Decodes to 8-bit sRGB (R, G, B and alpha when the image has it). */
async function pixels(bytes: Buffer): Promise<Pixels> {
  const { data, info } = await sharp(bytes).toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels };
}

function pixelAt(image: Pixels, x: number, y: number): number[] {
  if (x < 0 || y < 0 || x >= image.width || y >= image.height)
    throw new RangeError(`(${x}, ${y}) is outside ${image.width}x${image.height}`);
  const start = (y * image.width + x) * image.channels;
  return [...image.data.subarray(start, start + image.channels)];
}

/** Checks a pixel's colour channels (and alpha, when given) within a tolerance. */
function isColour(t: ExecutionContext, image: Pixels, x: number, y: number, expected: readonly number[], tolerance = 0): void {
  const actual = pixelAt(image, x, y).slice(0, expected.length);
  const close = actual.every((value, index) => Math.abs(value - (expected[index] ?? 0)) <= tolerance);
  t.true(close, `pixel (${x}, ${y}) is [${actual.join(', ')}], expected [${expected.join(', ')}] ±${tolerance}`);
}

/** A pixel's alpha: 255 in an image without an alpha channel. */
const alphaAt = (image: Pixels, x: number, y: number): number => (image.channels === 4 ? (pixelAt(image, x, y)[3] ?? -1) : 255);

/** An RGBA pixel drawn over an opaque colour. */
function over([r = 0, g = 0, b = 0, a = 255]: readonly number[], background: Rgb): number[] {
  return [r, g, b].map((value, index) => (value * a + (background[index] ?? 0) * (255 - a)) / 255);
}

/** Mean, standard deviation, range (over the colour channels) and sharp's estimate of sharpness. */
async function stats(bytes: Buffer): Promise<{ mean: number; stdev: number; min: number; max: number; sharpness: number }> {
  const result = await sharp(bytes).removeAlpha().stats();
  const colour = result.channels.slice(0, 3);
  const average = (pick: (channel: (typeof colour)[number]) => number) =>
    colour.reduce((sum, channel) => sum + pick(channel), 0) / colour.length;
  return {
    mean: average((channel) => channel.mean),
    stdev: average((channel) => channel.stdev),
    min: Math.min(...colour.map((channel) => channel.min)),
    max: Math.max(...colour.map((channel) => channel.max)),
    sharpness: result.sharpness,
  };
}

/** The refusal a transformation ends in: a domain error, answered with its status and code. */
async function refusal(t: ExecutionContext, work: Promise<unknown>, status: number, code: string): Promise<void> {
  const error = await t.throwsAsync(work, { instanceOf: DomainError });
  t.is(answerOf(error).status, status, error.message);
  t.is(error.code, code, error.message);
}

// ---------------------------------------------------------------- resize

const BIG = '2569067123_aca715a2ee_o.jpg'; // 2725x2225

test('resize to a width keeps the aspect ratio; a height alone does too', async (t) => {
  t.like(await fixture(BIG, { w: '300' }, 'jpeg'), { width: 300, height: 245 });
  t.like(await fixture(BIG, { h: '200' }, 'jpeg'), { width: 245, height: 200 });
});

test('resize with both sides: each fit gives its own size', async (t) => {
  const size = async (fit: string, w = '300', h = '300') => {
    const out = await fixture(BIG, { w, h, fit }, 'jpeg');
    const meta = await sharp(out.data).metadata();
    t.is(meta.width, out.width, 'reported width is the real width');
    t.is(meta.height, out.height, 'reported height is the real height');
    return [out.width, out.height];
  };
  t.deepEqual(await size('cover', '300', '200'), [300, 200]);
  t.deepEqual(await size('fill', '300', '100'), [300, 100]);
  t.deepEqual(await size('contain'), [300, 300]);
  t.deepEqual(await size('inside'), [300, 245]);
  t.deepEqual(await size('outside'), [367, 300]);
});

test('fit=contain letterboxes with the background colour', async (t) => {
  const out = await pixels((await fixture(BIG, { w: '300', h: '300', fit: 'contain', bg: '#ff00ff' })).data);
  t.is(out.width, 300);
  t.is(out.height, 300);
  // The photo is wider than tall: 300x245 in the middle, 27 or 28 rows of background above and below.
  isColour(t, out, 150, 0, MAGENTA);
  isColour(t, out, 150, 299, MAGENTA);
  t.false(pixelAt(out, 150, 150).slice(0, 3).join() === MAGENTA.join(), 'the middle is the photo');
});

test('fit=cover with a gravity keeps that edge of the image', async (t) => {
  // 40x20 quadrants to 20x20: west keeps the left half (red over green), east the right (blue over white).
  const west = await pixels((await transform(await quadrants(), 'png', { w: '20', h: '20', g: 'west' })).data);
  isColour(t, west, 10, 2, RED, 2);
  isColour(t, west, 10, 17, GREEN, 2);
  const east = await pixels((await transform(await quadrants(), 'png', { w: '20', h: '20', gravity: 'east' })).data);
  isColour(t, east, 10, 2, BLUE, 2);
  isColour(t, east, 10, 17, WHITE, 2);
});

test('no enlargement unless enlarge is set; dpr multiplies the size', async (t) => {
  t.like(await fixture('320x240.jpg', { w: '640' }, 'jpeg'), { width: 320, height: 240 });
  t.like(await fixture('320x240.jpg', { w: '640', h: '640', fit: 'fill' }, 'jpeg'), { width: 320, height: 240 });
  t.like(await fixture('320x240.jpg', { w: '640', enlarge: '1' }, 'jpeg'), { width: 640, height: 480 });
  t.like(await fixture('320x240.jpg', { w: '100', dpr: '2' }, 'jpeg'), { width: 200, height: 150 });
  t.like(await fixture('320x240.jpg', { w: '100', h: '50', dpr: '3', fit: 'fill' }, 'jpeg'), { width: 300, height: 150 });
});

test('a 16-bit PNG resizes to the right size and colours', async (t) => {
  const out = await fixture('Flag_of_the_Netherlands-16bit.png', { w: '90', flip: '1' });
  t.like(out, { width: 90, height: 60 });
  const image = await pixels(out.data);
  // The flag, flipped: blue on top, red at the bottom.
  isColour(t, image, 45, 5, [33, 70, 139], 12);
  isColour(t, image, 45, 55, [174, 28, 40], 12);
});

// ---------------------------------------------------------------- crop, trim, rotate, mirror, extend

test('crop cuts the rectangle given; one reaching past the edge is cut at the edge', async (t) => {
  const out = await transform(await quadrants(), 'png', { crop: '20,0,20,10' });
  t.like(out, { width: 20, height: 10 });
  const image = await pixels(out.data);
  for (const [x, y] of [
    [0, 0],
    [19, 0],
    [0, 9],
    [19, 9],
  ] as const)
    isColour(t, image, x, y, BLUE);

  const past = await pixels((await transform(await quadrants(), 'png', { crop: '10,5,100,100' })).data);
  t.is(past.width, 30);
  t.is(past.height, 15);
  isColour(t, past, 0, 0, RED);
  isColour(t, past, 29, 14, WHITE);
});

test('crop comes before resize: the rectangle is in source pixels', async (t) => {
  const out = await fixture(BIG, { crop: '0,0,1000,1000', w: '100' });
  t.like(out, { width: 100, height: 100 });
});

test('trim removes a uniform border', async (t) => {
  const photo = await readFixture('320x240.jpg');
  const framed = await sharp(photo).extend({ top: 30, bottom: 20, left: 25, right: 35, background: '#ffffff' }).png().toBuffer();
  const out = await transform(framed, 'png', { trim: '1' });
  t.true(Math.abs(out.width - 320) <= 2, `width ${out.width}`);
  t.true(Math.abs(out.height - 240) <= 2, `height ${out.height}`);

  const patch = await sharp({ create: { width: 60, height: 50, channels: 3, background: '#ffffff' } })
    .composite([{ input: await solid(20, 10, RED), left: 15, top: 20 }])
    .png()
    .toBuffer();
  const trimmed = await transform(patch, 'png', { trim: '20' });
  t.like(trimmed, { width: 20, height: 10 });
  isColour(t, await pixels(trimmed.data), 10, 5, RED);
});

test('rotate 90 swaps the sides and turns the image clockwise', async (t) => {
  const out = await transform(await quadrants(), 'png', { r: '90' });
  t.like(out, { width: 20, height: 40 });
  const image = await pixels(out.data);
  isColour(t, image, 19, 0, RED, 0); // top-left went to the top-right
  isColour(t, image, 19, 39, BLUE, 0); // top-right went to the bottom-right
  isColour(t, image, 0, 0, GREEN, 0); // bottom-left went to the top-left
  isColour(t, image, 0, 39, WHITE, 0); // bottom-right went to the bottom-left

  const back = await pixels((await transform(await quadrants(), 'png', { rotate: '-90' })).data);
  t.is(back.width, 20);
  isColour(t, back, 0, 39, RED, 0); // anticlockwise: top-left to the bottom-left
});

test('rotate 180 turns the image upside down', async (t) => {
  const image = await pixels((await transform(await quadrants(), 'png', { rotate: '180' })).data);
  t.is(image.width, 40);
  isColour(t, image, 39, 19, RED);
  isColour(t, image, 0, 0, WHITE);
});

test('rotate 45 fills the corners with the background', async (t) => {
  const out = await transform(await quadrants(), 'png', { rotate: '45', bg: '#ff00ff' });
  t.true(out.width >= 42 && out.width <= 44, `width ${out.width}`);
  const image = await pixels(out.data);
  isColour(t, image, 0, 0, MAGENTA);
  isColour(t, image, image.width - 1, image.height - 1, MAGENTA);
  const photo = await pixels((await fixture('320x240.jpg', { rotate: '45', bg: 'ff00ff' }, 'jpeg')).data);
  isColour(t, photo, 0, 0, MAGENTA, 8);
});

test('flip mirrors top to bottom, flop left to right', async (t) => {
  const flipped = await pixels((await transform(await quadrants(), 'png', { flip: '1' })).data);
  isColour(t, flipped, 0, 19, RED);
  isColour(t, flipped, 0, 0, GREEN);
  const flopped = await pixels((await transform(await quadrants(), 'png', { flop: 'true' })).data);
  isColour(t, flopped, 39, 0, RED);
  isColour(t, flopped, 0, 0, BLUE);
  const both = await pixels((await transform(await quadrants(), 'png', { flip: '1', flop: '1' })).data);
  isColour(t, both, 39, 19, RED);
});

test('extend adds borders of the background colour (top, right, bottom, left)', async (t) => {
  const out = await transform(await quadrants(), 'png', { pad: '2,4,6,8', bg: '#ff00ff' });
  t.like(out, { width: 40 + 4 + 8, height: 20 + 2 + 6 });
  const image = await pixels(out.data);
  isColour(t, image, 0, 0, MAGENTA);
  isColour(t, image, 7, 10, MAGENTA); // last column of the left border
  isColour(t, image, 8, 2, RED); // the image starts 8 in and 2 down
  isColour(t, image, 47, 21, WHITE); // its bottom-right pixel
  isColour(t, image, 48, 21, MAGENTA); // the right border
  isColour(t, image, 47, 22, MAGENTA); // the bottom border
  isColour(t, image, 51, 27, MAGENTA);
});

test('the geometry steps run in the fixed order: crop, resize, rotate, mirror, extend', async (t) => {
  // The top half (red | blue), doubled to 80x20, turned clockwise (red above blue), flipped (blue above red),
  // then padded by 1 in magenta.
  const out = await transform(await quadrants(), 'png', {
    crop: '0,0,40,10',
    w: '80',
    enlarge: '1',
    r: '90',
    flip: '1',
    pad: '1',
    bg: 'ff00ff',
  });
  t.like(out, { width: 20 + 2, height: 80 + 2 });
  const image = await pixels(out.data);
  isColour(t, image, 0, 0, MAGENTA);
  isColour(t, image, 10, 5, BLUE, 2);
  isColour(t, image, 10, 76, RED, 2);
});

test('a background colour stays that colour on a grey image', async (t) => {
  const grey = await sharp({ create: { width: 40, height: 20, channels: 3, background: '#808080' } })
    .toColourspace('b-w')
    .jpeg()
    .toBuffer();
  t.is((await sharp(grey).metadata()).channels, 1, 'the source is a one-channel JPEG');
  const red = [255, 0, 0];
  isColour(t, await pixels((await transform(grey, 'jpeg', { pad: '4', bg: 'red' })).data), 0, 0, red);
  isColour(t, await pixels((await transform(grey, 'jpeg', { r: '45', bg: 'red' })).data), 0, 0, red);
  isColour(t, await pixels((await transform(grey, 'jpeg', { w: '60', h: '60', fit: 'contain', bg: 'red' })).data), 30, 0, red);
  const middle = await pixels((await transform(grey, 'jpeg', { pad: '4', bg: 'red' })).data);
  isColour(t, middle, 24, 14, [128, 128, 128], 2);
  // A grey PNG with alpha, flattened onto red: red where it was transparent.
  const [x, y] = await transparentPixel('bggn4a16.png');
  isColour(t, await pixels((await fixture('bggn4a16.png', { flatten: '1', bg: 'red' })).data), x, y, red);
});

test("a background colour leaves a CMYK image's colours (by its ICC profile) alone", async (t) => {
  const plain = await pixels((await fixture('Channel_digital_image_CMYK_color.jpg', { w: '200' })).data);
  const padded = await pixels((await fixture('Channel_digital_image_CMYK_color.jpg', { w: '200', pad: '10', bg: 'red' })).data);
  isColour(t, padded, 0, 0, [255, 0, 0]);
  for (const [x, y] of [
    [50, 50],
    [100, 60],
    [150, 100],
  ] as const)
    isColour(t, padded, x + 10, y + 10, pixelAt(plain, x, y), 1);
});

// ---------------------------------------------------------------- filters

test('blur lowers the variation between pixels', async (t) => {
  const before = await stats(await readFixture('320x240.jpg'));
  const after = await stats((await fixture('320x240.jpg', { blur: '5' })).data);
  t.true(after.sharpness < before.sharpness / 2, `sharpness ${before.sharpness} → ${after.sharpness}`);
  t.true(after.stdev < before.stdev, `stdev ${before.stdev} → ${after.stdev}`);
});

test('sharpen raises edge contrast', async (t) => {
  const plain = await fixture('320x240.jpg', { w: '200' });
  const sharpened = await fixture('320x240.jpg', { w: '200', sharpen: '2' });
  const [before, after] = await Promise.all([stats(plain.data), stats(sharpened.data)]);
  t.true(after.sharpness > before.sharpness, `sharpness ${before.sharpness} → ${after.sharpness}`);
  t.like(await fixture('320x240.jpg', { w: '200', sharpen: 'true' }), { width: 200 });
});

test('median removes a single odd pixel', async (t) => {
  const speck = await drawn(21, 21, (x, y) => (x === 10 && y === 10 ? WHITE : [50, 50, 50]));
  const image = await pixels((await transform(speck, 'png', { median: '3' })).data);
  isColour(t, image, 10, 10, [50, 50, 50]);
});

test('negate inverts the colours and leaves alpha alone', async (t) => {
  const image = await pixels((await transform(await quadrants(), 'png', { negate: '1' })).data);
  isColour(t, image, 0, 0, [0, 255, 255]);
  isColour(t, image, 39, 0, [255, 255, 0]);
  isColour(t, image, 39, 19, [0, 0, 0]);

  const source = await pixels(await readFixture('with-alpha.png'));
  const negated = await pixels((await fixture('with-alpha.png', { negate: '1' })).data);
  t.is(negated.channels, 4);
  t.is(alphaAt(negated, 0, 0), alphaAt(source, 0, 0));
  t.is(alphaAt(negated, 128, 96), alphaAt(source, 128, 96));
});

test('normalise stretches a narrow range to the full one', async (t) => {
  const dull = await drawn(64, 8, (x) => [80 + x, 80 + x, 80 + x]); // 80..143
  const out = await stats((await transform(dull, 'png', { normalize: '1' })).data);
  t.true(out.min <= 15, `min ${out.min}`);
  t.true(out.max >= 240, `max ${out.max}`);
});

test('gamma makes a resize work on light, not on the encoded values', async (t) => {
  // A fine black-and-white checkerboard: averaged in sRGB values it is 128; in linear light, much brighter.
  const checkers = await drawn(64, 64, (x, y) => ((x + y) % 2 === 0 ? WHITE : [0, 0, 0]));
  const plain = await stats((await transform(checkers, 'png', { w: '16' })).data);
  const corrected = await stats((await transform(checkers, 'png', { w: '16', gamma: '2.2' })).data);
  t.true(Math.abs(plain.mean - 128) < 8, `without gamma ${plain.mean}`);
  t.true(corrected.mean > plain.mean + 30, `with gamma ${corrected.mean}`);
});

test('brightness, saturation and hue modulate the colours', async (t) => {
  const before = await stats(await readFixture('Landscape_1.jpg'));
  const brighter = await stats((await fixture('Landscape_1.jpg', { brightness: '2' })).data);
  t.true(brighter.mean > before.mean * 1.3, `mean ${before.mean} → ${brighter.mean}`);
  const darker = await stats((await fixture('Landscape_1.jpg', { brightness: '0.5' })).data);
  t.true(darker.mean < before.mean * 0.75, `mean ${before.mean} → ${darker.mean}`);

  const grey = await pixels((await transform(await quadrants(), 'png', { saturation: '0' })).data);
  const [r = 0, g = 0, b = 0] = pixelAt(grey, 0, 0);
  t.true(Math.max(r, g, b) - Math.min(r, g, b) <= 2, `desaturated red is [${r}, ${g}, ${b}]`);

  const turned = await pixels((await transform(await quadrants(), 'png', { hue: '180' })).data);
  const [hr = 0, hg = 0, hb = 0] = pixelAt(turned, 0, 0);
  t.true(hr < hg && hr < hb, `red turned 180 degrees is [${hr}, ${hg}, ${hb}]`);
});

test('tint colours a grey image', async (t) => {
  const grey = await solid(16, 16, [128, 128, 128]);
  const image = await pixels((await transform(grey, 'png', { tint: '#ff0000' })).data);
  const [r = 0, g = 0, b = 0] = pixelAt(image, 8, 8);
  t.true(r > g + 30 && r > b + 30, `tinted grey is [${r}, ${g}, ${b}]`);
});

test('grayscale leaves every sampled pixel with R = G = B', async (t) => {
  const out = await fixture('320x240.jpg', { greyscale: '1' }, 'png');
  const image = await pixels(out.data);
  for (const [x, y] of [
    [0, 0],
    [50, 60],
    [160, 120],
    [300, 200],
    [319, 239],
  ] as const) {
    const [r, g, b] = pixelAt(image, x, y);
    t.true(r === g && g === b, `pixel (${x}, ${y}) is [${r}, ${g}, ${b}]`);
  }
  const jpeg = await pixels((await fixture('Landscape_1.jpg', { grayscale: 'yes', w: '300' }, 'jpeg')).data);
  const [r, g, b] = pixelAt(jpeg, 150, 100);
  t.true(r === g && g === b, `JPEG pixel is [${r}, ${g}, ${b}]`);

  // Letterboxed: the bars turn grey too.
  const boxed = await pixels((await fixture(BIG, { w: '300', h: '300', fit: 'contain', bg: 'red', grayscale: '1' })).data);
  const [br, bg, bb] = pixelAt(boxed, 150, 2);
  t.true(br === bg && bg === bb, `bar pixel is [${br}, ${bg}, ${bb}]`);
});

test('threshold leaves only black and white', async (t) => {
  const out = await fixture('320x240.jpg', { threshold: '128' });
  const image = await pixels(out.data);
  const values = new Set(image.data);
  t.deepEqual(
    [...values].sort((a, b) => a - b),
    [0, 255],
  );
});

test('the filters run in the fixed order, whatever order sharp has', async (t) => {
  // blur, then threshold: only black and white remain (sharp on its own thresholds before it blurs).
  const blurred = await pixels((await fixture('320x240.jpg', { blur: '3', threshold: '128' })).data);
  t.deepEqual(
    [...new Set(blurred.data)].sort((a, b) => a - b),
    [0, 255],
    'blur then threshold',
  );

  // tint, then grayscale: grey (sharp on its own makes the image grey first, then tints it).
  const tinted = await pixels((await transform(await solid(8, 8, [128, 128, 128]), 'png', { tint: 'red', grayscale: '1' })).data);
  const [r = 0, g = 0, b = 0] = pixelAt(tinted, 4, 4);
  t.true(r === g && g === b, `tint then grayscale is [${r}, ${g}, ${b}]`);

  // negate, then threshold: 100 becomes 155, which is over 128: white (sharp negates last: black).
  const negated = await pixels((await transform(await solid(8, 8, [100, 100, 100]), 'png', { negate: '1', threshold: '128' })).data);
  isColour(t, negated, 4, 4, WHITE);

  // normalise, then darken: the brightest pixel ends near half (sharp normalises last: near full).
  const dull = await drawn(64, 8, (x) => [80 + x, 80 + x, 80 + x]);
  const darkened = await stats((await transform(dull, 'png', { normalise: '1', brightness: '0.5' })).data);
  t.true(darkened.max < 200, `normalise then brightness 0.5: max ${darkened.max}`);
});

// ---------------------------------------------------------------- mask

test('mask=circle: transparent corners, opaque centre, four channels', async (t) => {
  const out = await fixture('320x240.jpg', { mask: 'circle' });
  const image = await pixels(out.data);
  t.is(image.channels, 4);
  t.is(alphaAt(image, 0, 0), 0);
  t.is(alphaAt(image, 319, 239), 0);
  t.is(alphaAt(image, 30, 120), 0, 'outside the circle of radius 120 at the left');
  t.is(alphaAt(image, 160, 120), 255);
  t.is(alphaAt(image, 160, 5), 255, 'inside the circle at the top');
});

test('mask=ellipse fills the image edge to edge', async (t) => {
  const image = await pixels((await fixture('320x240.jpg', { mask: 'ellipse' })).data);
  t.is(alphaAt(image, 0, 0), 0);
  t.is(alphaAt(image, 5, 120), 255);
  t.is(alphaAt(image, 160, 5), 255);
});

test('mask=rounded: transparent corners, opaque edges between them', async (t) => {
  const image = await pixels((await fixture('320x240.jpg', { mask: 'rounded', radius: '40' })).data);
  t.is(image.channels, 4);
  t.is(alphaAt(image, 0, 0), 0);
  t.is(alphaAt(image, 5, 5), 0);
  t.is(alphaAt(image, 319, 239), 0);
  t.is(alphaAt(image, 160, 0), 255);
  t.is(alphaAt(image, 0, 120), 255);
  t.is(alphaAt(image, 160, 120), 255);
  const defaultRadius = await pixels((await fixture('320x240.jpg', { mask: 'rounded' })).data);
  t.is(alphaAt(defaultRadius, 0, 0), 0);
  t.is(alphaAt(defaultRadius, 16, 16), 255);
});

test('mask with a stored image: its alpha, stretched over the image', async (t) => {
  const half = await pixels((await fixture('320x240.jpg', { mask: ids.leftHalf })).data);
  t.is(half.channels, 4);
  t.is(alphaAt(half, 10, 120), 255);
  t.is(alphaAt(half, 150, 10), 255);
  t.is(alphaAt(half, 170, 10), 0);
  t.is(alphaAt(half, 310, 230), 0);

  // with-alpha.png is 168/255 opaque all over: so is every pixel of the masked photo.
  const masked = await pixels((await fixture('320x240.jpg', { mask: ids.withAlpha })).data);
  t.deepEqual(new Set(Array.from({ length: masked.width * masked.height }, (_, index) => masked.data[index * 4 + 3])), new Set([168]));
});

test('a mask into JPEG, which has no alpha: the corners are the background, white unless given', async (t) => {
  const white = await pixels((await fixture('320x240.jpg', { mask: 'circle' }, 'jpeg')).data);
  t.is(white.channels, 3);
  isColour(t, white, 0, 0, WHITE, 3);
  isColour(t, white, 319, 239, WHITE, 3);
  t.true((pixelAt(white, 160, 120)[0] ?? 255) < 250, 'the photo inside the circle');
  const red = await pixels((await fixture('320x240.jpg', { mask: 'rounded', radius: '40', bg: 'red' }, 'jpeg')).data);
  isColour(t, red, 0, 0, RED, 3);
});

test('a preset with a mask in several formats: transparent corners where the format has alpha, the background in JPEG', async (t) => {
  const parsed = parseOptions({ w: '120', h: '120', mask: 'circle' });
  const outputs = await runTransformInFormats(
    { bytes: await readFixture('320x240.jpg'), format: 'jpeg', upright: true },
    (['webp', 'jpeg', 'png'] as const).map((format) => canonicalise(parsed, format)),
    { resources: storedImages(), deadline: Date.now() + 120_000 },
  );
  t.deepEqual(outputs.map((output) => output.format).sort(), ['jpeg', 'png', 'webp']);
  for (const output of outputs) {
    const image = await pixels(output.data);
    if (output.format === 'jpeg') isColour(t, image, 0, 0, WHITE, 3);
    else t.is(alphaAt(image, 0, 0), 0, output.format);
  }
});

// ---------------------------------------------------------------- overlay

const BLUE_BASE = () => solid(100, 80, BLUE);

test('overlay at southeast, moved inwards by its offsets', async (t) => {
  const out = await transform(await BLUE_BASE(), 'png', { overlay: ids.redPatch, overlay_gravity: 'se', overlay_x: '10', overlay_y: '5' });
  t.like(out, { width: 100, height: 80 });
  const image = await pixels(out.data);
  // The 30x20 patch spans x 60..89 and y 55..74.
  isColour(t, image, 60, 55, RED);
  isColour(t, image, 89, 74, RED);
  isColour(t, image, 59, 60, BLUE);
  isColour(t, image, 90, 60, BLUE);
  isColour(t, image, 70, 54, BLUE);
  isColour(t, image, 70, 75, BLUE);
});

test('overlay at other gravities', async (t) => {
  const at = async (gravity: string, x = '0', y = '0') =>
    pixels(
      (await transform(await BLUE_BASE(), 'png', { overlay: ids.redPatch, overlay_gravity: gravity, overlay_x: x, overlay_y: y })).data,
    );
  const northwest = await at('northwest', '7', '3');
  isColour(t, northwest, 7, 3, RED);
  isColour(t, northwest, 6, 3, BLUE);
  isColour(t, northwest, 7, 2, BLUE);
  const centre = await at('centre');
  isColour(t, centre, 50, 40, RED);
  isColour(t, centre, 34, 40, BLUE);
  const south = await at('south');
  isColour(t, south, 50, 79, RED);
  isColour(t, south, 50, 59, BLUE);
  const defaultPlace = await pixels((await transform(await BLUE_BASE(), 'png', { overlay: ids.redPatch })).data);
  isColour(t, defaultPlace, 99, 79, RED, 0);
});

test('overlay_opacity 0.5 blends the overlay with the image', async (t) => {
  const image = await pixels(
    (await transform(await BLUE_BASE(), 'png', { overlay: ids.redPatch, overlay_gravity: 'centre', overlay_opacity: '0.5' })).data,
  );
  isColour(t, image, 50, 40, [128, 0, 128], 2);
  isColour(t, image, 5, 5, BLUE);
});

test('overlay_tile covers the whole image', async (t) => {
  const out = await fixture('320x240.jpg', { overlay: ids.redPatch, overlay_tile: '1' });
  const image = await pixels(out.data);
  for (let y = 0; y < image.height; y += 7) {
    for (let x = 0; x < image.width; x += 7) {
      const [r, g, b] = pixelAt(image, x, y);
      if (r !== 255 || g !== 0 || b !== 0) {
        t.fail(`pixel (${x}, ${y}) is [${r}, ${g}, ${b}], not the tiled red`);
        return;
      }
    }
  }
  t.pass();
});

test('overlay of a stored photo (a JPEG, no alpha) puts its pixels at the place asked', async (t) => {
  const out = await fixture('Landscape_1.jpg', { overlay: ids.photo, overlay_gravity: 'southeast', overlay_x: '10', overlay_y: '5' });
  t.like(out, { width: 600, height: 450 });
  const image = await pixels(out.data);
  const photo = await pixels(await readFixture('320x240.jpg'));
  // 320x240 at x 270..589, y 205..444.
  for (const [x, y] of [
    [0, 0],
    [100, 50],
    [160, 120],
    [319, 239],
  ] as const) {
    isColour(t, image, 270 + x, 205 + y, pixelAt(photo, x, y), 1);
  }
  const half = await pixels((await fixture('Landscape_1.jpg', { overlay: ids.photo, overlay_opacity: '0.5' })).data);
  const base = await pixels(await readFixture('Landscape_1.jpg'));
  const [x, y] = [600 - 320 + 100, 450 - 240 + 50];
  const expected = pixelAt(base, x, y).map((value, index) => (value + (pixelAt(photo, 100, 50)[index] ?? 0)) / 2);
  isColour(t, half, x, y, expected, 2);
});

test('overlay of a stored image with alpha blends by its alpha', async (t) => {
  // with-alpha.png is 256x192, 168/255 opaque all over.
  const overlay = await pixels(await readFixture('with-alpha.png'));
  const out = await pixels(
    (
      await transform(await solid(300, 200, BLUE), 'png', {
        overlay: ids.withAlpha,
        overlay_gravity: 'northwest',
        overlay_x: '4',
        overlay_y: '2',
      })
    ).data,
  );
  for (const [x, y] of [
    [0, 0],
    [128, 96],
    [255, 191],
  ] as const)
    isColour(t, out, 4 + x, 2 + y, over(pixelAt(overlay, x, y), BLUE), 2);
  isColour(t, out, 3, 50, BLUE);
  isColour(t, out, 261, 50, BLUE);
  // A stored image with transparent parts: the base shows through them.
  const half = await pixels((await transform(await solid(40, 20, BLUE), 'png', { overlay: ids.leftHalf })).data);
  isColour(t, half, 5, 10, WHITE);
  isColour(t, half, 35, 10, BLUE);
});

test('an overlay larger than the image is shrunk into it', async (t) => {
  const out = await transform(await solid(160, 120, BLUE), 'png', { overlay: ids.photo });
  const image = await pixels(out.data);
  t.like(out, { width: 160, height: 120 });
  t.false(pixelAt(image, 80, 60).join() === BLUE.join(), 'the photo covers the middle');
});

// ---------------------------------------------------------------- flatten

/** The first pixel of a fixture whose alpha is 0. */
async function transparentPixel(name: string): Promise<readonly [number, number]> {
  const image = await pixels(await readFixture(name));
  for (let y = 0; y < image.height; y += 1) {
    for (let x = 0; x < image.width; x += 1) if (alphaAt(image, x, y) === 0) return [x, y];
  }
  throw new Error(`${name} has no transparent pixel`);
}

test('flatten drops the alpha channel onto the background colour', async (t) => {
  const source = await pixels(await readFixture('with-alpha.png'));
  const out = await fixture('with-alpha.png', { flatten: '1', bg: '#ff00ff' });
  t.is((await sharp(out.data).metadata()).channels, 3);
  const image = await pixels(out.data);
  for (const [x, y] of [
    [0, 0],
    [128, 96],
    [255, 191],
  ] as const)
    isColour(t, image, x, y, over(pixelAt(source, x, y), MAGENTA), 2);

  // Where the image was transparent: the background, white unless given.
  const [x, y] = await transparentPixel('bggn4a16.png');
  isColour(t, await pixels((await fixture('bggn4a16.png', { flatten: '1', bg: '#ff00ff' })).data), x, y, MAGENTA);
  isColour(t, await pixels((await fixture('bggn4a16.png', { flatten: '1' })).data), x, y, WHITE);
});

test('a grey image keeps its transparency for the steps after the filters', async (t) => {
  // Grey, then flattened onto magenta: where the image was transparent, magenta; elsewhere a blend, not grey.
  const [x, y] = await transparentPixel('bggn4a16.png');
  const flat = await pixels((await fixture('bggn4a16.png', { grayscale: '1', flatten: '1', bg: '#ff00ff' })).data);
  isColour(t, flat, x, y, MAGENTA);
  const blended = await pixels((await fixture('with-alpha.png', { grayscale: '1', flatten: '1', bg: 'ff00ff' })).data);
  const [r = 0, g = 0, b = 0] = pixelAt(blended, 0, 0);
  t.true(r - g > 50 && Math.abs(r - b) <= 2, `grey at 168/255 over magenta is [${r}, ${g}, ${b}]`);

  const masked = await pixels((await fixture('with-alpha.png', { grayscale: '1', mask: 'circle' })).data);
  t.is(alphaAt(masked, 128, 96), 168, "the image's own alpha inside the circle");
  t.is(alphaAt(masked, 0, 0), 0);
});

// ---------------------------------------------------------------- output options

test('a lower quality makes fewer bytes', async (t) => {
  const low = await fixture('320x240.jpg', { q: '30' }, 'jpeg');
  const high = await fixture('320x240.jpg', { quality: '95' }, 'jpeg');
  t.true(low.data.length < high.data.length * 0.7, `${low.data.length} vs ${high.data.length}`);
  const lowWebp = await fixture('320x240.jpg', { q: '20' }, 'webp');
  const highWebp = await fixture('320x240.jpg', { q: '95' }, 'webp');
  t.true(lowWebp.data.length < highWebp.data.length, `${lowWebp.data.length} vs ${highWebp.data.length}`);
});

test('lossless WebP keeps every pixel', async (t) => {
  const source = await pixels(await readFixture('320x240.jpg'));
  const out = await fixture('320x240.jpg', { lossless: '1' }, 'webp');
  t.is((await sharp(out.data).metadata()).format, 'webp');
  const image = await pixels(out.data);
  t.true(image.data.equals(source.data), 'decoded pixels differ');
  const lossy = await pixels((await fixture('320x240.jpg', {}, 'webp')).data);
  t.false(lossy.data.equals(source.data), 'a lossy encode changes pixels (else this test proves nothing)');
});

test('progressive JPEG and interlaced PNG', async (t) => {
  const progressive = await fixture('320x240.jpg', { progressive: '1', w: '200' }, 'jpeg');
  t.true((await sharp(progressive.data).metadata()).isProgressive);
  const interlace = await fixture('320x240.jpg', { interlace: '1', w: '200' }, 'jpeg');
  t.true((await sharp(interlace.data).metadata()).isProgressive);
  const png = await fixture('320x240.jpg', { progressive: '1', w: '200' }, 'png');
  t.true((await sharp(png.data).metadata()).isProgressive);
  const plainPng = await fixture('320x240.jpg', { w: '200' }, 'png');
  t.false((await sharp(plainPng.data).metadata()).isProgressive);
});

test("effort trades time for bytes, within each format's range", async (t) => {
  const least = await fixture('320x240.jpg', { effort: '0' }, 'webp');
  const most = await fixture('320x240.jpg', { effort: '6' }, 'webp');
  t.not(least.data.length, most.data.length);
  t.true(most.data.length < least.data.length, `effort 6: ${most.data.length} bytes, effort 0: ${least.data.length}`);
  const png = await fixture('320x240.jpg', { effort: '1', q: '50' }, 'png');
  t.is((await sharp(png.data).metadata()).format, 'png');
  t.throws(() => canonicalise(parseOptions({ effort: '7' }), 'webp'), { instanceOf: DomainError });
});

test('metadata=keep keeps EXIF and the ICC profile; the default strips them', async (t) => {
  const source = await sharp(await readFixture('320x240.jpg')).metadata();
  t.truthy(source.exif, 'the fixture has EXIF');
  const kept = await sharp((await fixture('320x240.jpg', { metadata: 'keep', w: '200' }, 'jpeg')).data).metadata();
  t.truthy(kept.exif);
  t.truthy(kept.icc);
  const stripped = await sharp((await fixture('320x240.jpg', { w: '200' }, 'jpeg')).data).metadata();
  t.falsy(stripped.exif);
  t.falsy(stripped.icc);
});

test('max_bytes lowers the quality until the output fits', async (t) => {
  const free = await fixture(BIG, { w: '800' }, 'jpeg');
  const limit = Math.floor(free.data.length * 0.6);
  const bounded = await fixture(BIG, { w: '800', max_bytes: String(limit) }, 'jpeg');
  t.true(bounded.data.length <= limit, `${bounded.data.length} > ${limit}`);
  t.true(bounded.data.length > limit * 0.5, 'as good as fits, not the lowest quality');
  t.like(bounded, { width: 800, height: 653 });
  const meta = await sharp(bounded.data).metadata();
  t.is(meta.width, 800);
  t.is(meta.height, 653);

  const webp = await fixture(BIG, { w: '400', rotate: '90', maxbytes: '8192' }, 'webp');
  t.true(webp.data.length <= 8192);
  t.like(webp, { width: 327, height: 400 });
});

test('max_bytes that cannot be met: 422 output_too_large', async (t) => {
  await refusal(t, fixture('320x240.jpg', { max_bytes: '1024' }, 'png'), 422, 'output_too_large');
  await refusal(t, fixture(BIG, { max_bytes: '1024' }, 'jpeg'), 422, 'output_too_large');
});

// ---------------------------------------------------------------- animation

test('an animation only resized stays animated', async (t) => {
  const source = await sharp(await readFixture('rotating-squares.gif'), { animated: true }).metadata();
  const gif = await fixture('rotating-squares.gif', { w: '40' }, 'gif');
  t.like(gif, { width: 40, height: 40 });
  const gifMeta = await sharp(gif.data, { animated: true }).metadata();
  // The GIF encoder merges frames that came out alike, adding up their delays: as many frames or fewer, as long.
  t.true((gifMeta.pages ?? 1) > 1, `${gifMeta.pages} frames`);
  t.is(gifMeta.pageHeight, 40);
  const duration = (delays: readonly number[] | undefined) => (delays ?? []).reduce((sum, delay) => sum + delay, 0);
  t.is(duration(gifMeta.delay), duration(source.delay));

  const webp = await fixture('animated-loop-3.webp', { w: '100' }, 'webp');
  t.like(webp, { width: 100, pages: 10 });
  t.is((await sharp(webp.data, { animated: true }).metadata()).pages, 10);
});

test('an animation with any other operation becomes a still', async (t) => {
  const rotated = await fixture('rotating-squares.gif', { w: '40', r: '90' }, 'gif');
  t.like(rotated, { width: 40, height: 40, pages: 1 });
  t.is((await sharp(rotated.data, { animated: true }).metadata()).pages ?? 1, 1);
  const still = await fixture('animated-loop-3.webp', { w: '100' }, 'png');
  t.like(still, { width: 100, pages: 1 });
});

test('an animation resized within max_bytes stays animated', async (t) => {
  const free = await fixture('animated-loop-3.webp', { w: '200' }, 'webp');
  const limit = Math.floor(free.data.length * 0.8);
  const bounded = await fixture('animated-loop-3.webp', { w: '200', max_bytes: String(limit) }, 'webp');
  t.true(bounded.data.length <= limit, `${bounded.data.length} > ${limit}`);
  t.like(bounded, { width: 200, height: free.height, pages: 10 });
  const meta = await sharp(bounded.data, { animated: true }).metadata();
  t.is(meta.pages, 10);
  t.is(meta.pageHeight, free.height);
});

// ---------------------------------------------------------------- refusals

test('an output over the bounds is refused with 400 before any work', async (t) => {
  const resources = storedImages();
  // A deadline already passed: the bound is checked first, so the answer is 400, not 503.
  const query = { w: '16000', h: '16000', enlarge: '1', fit: 'fill', overlay: ids.photo };
  await refusal(
    t,
    transform(await readFixture('320x240.jpg'), 'jpeg', query, 'jpeg', { deadline: Date.now() - 1000, resources }),
    400,
    'output_too_large',
  );
  t.deepEqual(resources.loaded, [], 'no overlay was loaded');
  await refusal(t, fixture('320x240.jpg', { w: '16000', h: '16000', enlarge: '1', fit: 'fill' }, 'jpeg'), 400, 'output_too_large');
  await refusal(t, fixture('320x240.jpg', { pad: '2048', w: '16000', enlarge: '1' }, 'png'), 400, 'output_too_large');
});

test('a corrupt image: 422 unprocessable_image', async (t) => {
  await refusal(t, fixture('truncated.jpg', { w: '100' }, 'jpeg'), 422, 'unprocessable_image');
  await refusal(t, fixture('truncated.jpg', { r: '90', blur: '2' }, 'png'), 422, 'unprocessable_image');
});

test('a deadline already passed: 503 transform_timeout', async (t) => {
  const photo = await readFixture('320x240.jpg');
  const passed = () => ({ deadline: Date.now() - 1 });
  await refusal(t, transform(photo, 'jpeg', { w: '100' }, 'jpeg', passed()), 503, 'transform_timeout');
  await refusal(t, transform(photo, 'jpeg', { r: '90', blur: '2', mask: 'circle' }, 'png', passed()), 503, 'transform_timeout');
  await refusal(t, transform(photo, 'jpeg', {}, 'webp', passed()), 503, 'transform_timeout');
});
