import { existsSync } from 'node:fs';
import test, { type ExecutionContext } from 'ava';
import sharp, { type Stats } from 'sharp';
import { DomainError } from '../../lib/errors.ts';
import { answerOf } from '../support/error-answer.ts';
import type { ImageFormat } from '../../lib/events/payloads.ts';
import { canonicalise } from '../../lib/transform/canonical.ts';
import { fontFace } from '../../lib/transform/fonts.ts';
import { MAX_TEXT_LENGTH } from '@progimage/transform-language/schema';
import { parseOptions } from '../../lib/transform/options.ts';
import { runTransform } from '../../lib/transform/run-transform.ts';
import { noOtherImages } from '../../lib/transform/steps/step.ts';
import { GRAVITIES, TEXT_FONTS, type Gravity } from '@progimage/transform-language';
import { readFixture } from '../support/fixtures.ts';

/*
 * Text drawn over images (text, text_font, text_size, text_color,
 * text_gravity, text_opacity), run the way a request runs it on real
 * photos: each output compared with the same transformation without the
 * text, to see where the text went and how strongly it was drawn.
 */

interface Raster {
  readonly data: Buffer;
  readonly width: number;
  readonly height: number;
  readonly channels: number;
}

interface Box {
  readonly left: number;
  readonly top: number;
  readonly right: number;
  readonly bottom: number;
}

/** Runs a query on a stored image into PNG (lossless: every changed pixel is the text's) and decodes it. */
async function render(bytes: Buffer, format: ImageFormat, query: Readonly<Record<string, string>>): Promise<Raster> {
  const out = await runTransform({ bytes, format, upright: true }, canonicalise(parseOptions(query), 'png'), {
    resources: noOtherImages('no other images here'),
    deadline: Date.now() + 60_000,
  });
  const { data, info } = await sharp(out.data).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels };
}

/** Landscape_1.jpg at 400x300, transformed. */
const photo = async (query: Readonly<Record<string, string>> = {}) =>
  render(await readFixture('Landscape_1.jpg'), 'jpeg', { w: '400', ...query });

/** The smallest box holding every pixel that differs between the two (right and bottom exclusive), or null when none does. */
function changed(a: Raster, b: Raster): Box | null {
  let box: { left: number; top: number; right: number; bottom: number } | null = null;
  for (let y = 0; y < a.height; y += 1) {
    for (let x = 0; x < a.width; x += 1) {
      const start = (y * a.width + x) * a.channels;
      if (a.data.compare(b.data, start, start + a.channels, start, start + a.channels) === 0) continue;
      box ??= { left: x, top: y, right: x + 1, bottom: y + 1 };
      box.left = Math.min(box.left, x);
      box.top = Math.min(box.top, y);
      box.right = Math.max(box.right, x + 1);
      box.bottom = Math.max(box.bottom, y + 1);
    }
  }
  return box;
}

/** sharp's statistics of a region (stats() reads a pipeline's input: the region is cut out first). */
async function regionStats(image: Raster, box: Box): Promise<Stats> {
  const raw = { raw: { width: image.width, height: image.height, channels: image.channels as 3 } };
  const region = await sharp(image.data, raw)
    .extract({ left: box.left, top: box.top, width: box.right - box.left, height: box.bottom - box.top })
    .png()
    .toBuffer();
  return sharp(region).stats();
}

/** The mean absolute difference of the two over a box, from sharp's statistics of each channel. */
async function meanDifference(a: Raster, b: Raster, box: Box): Promise<number> {
  const difference = Buffer.alloc(a.data.length);
  for (let index = 0; index < a.data.length; index += 1) difference[index] = Math.abs((a.data[index] ?? 0) - (b.data[index] ?? 0));
  const { channels } = await regionStats({ ...a, data: difference }, box);
  return channels.reduce((sum, channel) => sum + channel.mean, 0) / channels.length;
}

function refusal(t: ExecutionContext, query: Readonly<Record<string, string>>): { message: string; option: unknown } {
  const error = t.throws(() => canonicalise(parseOptions(query), 'png'), { instanceOf: DomainError });
  t.is(answerOf(error).status, 400);
  t.is(error.code, 'invalid_transform');
  return { message: error.message, option: error.details.option };
}

/** Where a gravity keeps a box that is smaller than the image: against which edges, or centred. */
function isPlaced(t: ExecutionContext, gravity: Gravity, box: Box, image: Raster): void {
  const label = `${gravity}: text at ${JSON.stringify(box)} in ${image.width}x${image.height}`;
  const midX = (box.left + box.right) / 2;
  const midY = (box.top + box.bottom) / 2;
  if (gravity.includes('west')) t.true(box.left <= 4, label);
  else if (gravity.includes('east')) t.true(box.right >= image.width - 4, label);
  else t.true(Math.abs(midX - image.width / 2) <= 8, label);
  if (gravity.startsWith('north')) t.true(box.top <= 4, label);
  else if (gravity.startsWith('south')) t.true(box.bottom >= image.height - 4, label);
  else t.true(Math.abs(midY - image.height / 2) <= 8, label);
}

test('text is drawn at the gravity asked, and nowhere else', async (t) => {
  const plain = await photo();
  for (const gravity of GRAVITIES) {
    const box = changed(plain, await photo({ text: 'ProgImage', text_color: 'white', text_size: '40', text_gravity: gravity }));
    if (box === null) {
      t.fail(`${gravity}: no text drawn`);
      continue;
    }
    t.true(
      box.right - box.left > 80 && box.right - box.left < 300,
      `${gravity}: about nine glyphs at 40 pixels wide, ${box.right - box.left}`,
    );
    t.true(box.bottom - box.top > 20 && box.bottom - box.top < 60, `${gravity}: one line at 40 pixels high, ${box.bottom - box.top}`);
    isPlaced(t, gravity, box, plain);
  }
});

test('by default, text is black at southeast; gravity aliases name the same places', async (t) => {
  const plain = await photo();
  const byDefault = await photo({ text: 'ProgImage' });
  const box = changed(plain, byDefault);
  if (box === null) return t.fail('no text drawn');
  isPlaced(t, 'southeast', box, plain);
  const { channels } = await regionStats(byDefault, box);
  t.true(
    channels.every((channel) => channel.min === 0),
    'the glyphs are black',
  );
  t.deepEqual(await photo({ text: 'ProgImage', text_gravity: 'se' }), byDefault);
  t.deepEqual(await photo({ text: 'ProgImage', text_gravity: 'top' }), await photo({ text: 'ProgImage', text_gravity: 'north' }));
});

test('text_opacity scales how strongly the text is drawn; 0 draws nothing', async (t) => {
  const plain = await photo();
  // Magenta: far from every colour of the photo.
  const at = (opacity: string) =>
    photo({ text: 'ProgImage', text_color: '#f0f', text_size: '48', text_gravity: 'centre', text_opacity: opacity });
  const full = await at('1');
  const box = changed(plain, full);
  if (box === null) return t.fail('no text drawn');
  const strength = await meanDifference(plain, full, box);
  const half = await meanDifference(plain, await at('0.5'), box);
  t.true(strength > 20, `opaque text changes the box by ${strength} on average`);
  t.true(Math.abs(half / strength - 0.5) < 0.08, `half the opacity, about half the change: ${half} of ${strength}`);
  t.is(changed(plain, await at('0')), null);
  const translucentColour = await meanDifference(
    plain,
    await photo({ text: 'ProgImage', text_color: '#ff00ff80', text_size: '48', text_gravity: 'centre' }),
    box,
  );
  t.true(Math.abs(translucentColour / strength - 0.5) < 0.08, `a colour's alpha acts as opacity: ${translucentColour} of ${strength}`);
});

test('text_color colours the glyphs, spelt as background is', async (t) => {
  const blue = await sharp({ create: { width: 300, height: 100, channels: 3, background: { r: 0, g: 0, b: 255 } } })
    .png()
    .toBuffer();
  const out = await render(blue, 'png', {
    text: 'III',
    text_color: '#f00',
    text_size: '80',
    text_font: 'sans-bold',
    text_gravity: 'centre',
  });
  const { channels } = await sharp(out.data, { raw: { width: out.width, height: out.height, channels: 3 } }).stats();
  t.deepEqual(
    channels.map((channel) => channel.max),
    [255, 0, 255],
    'pure red appears, over pure blue',
  );
  t.deepEqual(
    await render(blue, 'png', { text: 'III', text_colour: 'red', text_size: '80', font: 'sans-bold', text_gravity: 'centre' }),
    out,
    'text_colour and font are other spellings; red is #f00',
  );
});

test('markup is drawn as written, never interpreted', async (t) => {
  const plain = await photo();
  const width = async (text: string) => {
    const box = changed(plain, await photo({ text, text_color: 'white', text_size: '24', text_gravity: 'northwest' }));
    return box === null ? 0 : box.right - box.left;
  };
  t.true((await width('<b>bold</b>')) > (await width('bold')) * 2, 'the tags are drawn beside the word');
  t.true((await width('&amp;')) > (await width('&')) * 3, 'an entity is drawn as its five characters');
  t.true((await width('<span foreground="red">x')) > 100, 'markup that would not parse is drawn too');
});

test('each font of the allow-list is a file shipped with the server, and draws differently', async (t) => {
  const plain = await photo();
  const drawn: Buffer[] = [];
  for (const font of TEXT_FONTS) {
    t.true(existsSync(fontFace(font, 32).file), `${font}: ${fontFace(font, 32).file}`);
    const out = await photo({ text: 'Wide glyphs 0O', text_font: font, text_color: 'white' });
    t.not(changed(plain, out), null, `${font} draws`);
    drawn.push(out.data);
  }
  t.is(new Set(drawn.map((data) => data.toString('base64'))).size, TEXT_FONTS.length);
});

test('text wraps at the width of the image; text that still does not fit is refused, naming text', async (t) => {
  const plain = await photo();
  const caption = 'A caption long enough that it has to wrap onto several lines';
  const box = changed(plain, await photo({ text: caption, text_color: 'white', text_size: '32', text_gravity: 'north' }));
  if (box === null) return t.fail('no text drawn');
  t.true(box.right - box.left <= 400, 'no wider than the image');
  t.true(box.bottom - box.top > 32 * 2, `on more than two lines: ${box.bottom - box.top} pixels`);
  const error = await t.throwsAsync(photo({ text: 'x'.repeat(MAX_TEXT_LENGTH), text_size: '200' }), { instanceOf: DomainError });
  t.like(answerOf(error), { status: 400, code: 'invalid_transform', details: { option: 'text' } });
  t.regex(error.message, /^text: does not fit: at text_size 200 it is \d+x\d+ pixels, the image 400x300/);
});

test('text options out of range, unknown fonts and colours are refused with the option named', (t) => {
  t.like(refusal(t, { text: 'x'.repeat(MAX_TEXT_LENGTH + 1) }), { option: 'text' });
  t.notThrows(() => parseOptions({ text: '🙂'.repeat(MAX_TEXT_LENGTH) }), 'characters, not UTF-16 units, are counted');
  t.like(refusal(t, { text: '' }), { option: 'text' });
  t.like(refusal(t, { text: '   ' }), { option: 'text' });
  t.like(refusal(t, { text: 'a\u0000b' }), { option: 'text', message: 'text: expected no control characters but line breaks' });
  t.notThrows(() => parseOptions({ text: 'two\nlines' }));
  t.like(refusal(t, { text: 'a', text_font: 'comic-sans' }), {
    option: 'text_font',
    message: `text_font: expected one of ${TEXT_FONTS.join(', ')}`,
  });
  t.like(refusal(t, { text: 'a', font: '/etc/passwd' }), { option: 'text_font' });
  t.like(refusal(t, { text: 'a', text_color: 'chartreuse' }), { option: 'text_color' });
  t.like(refusal(t, { text: 'a', text_size: '7' }), { option: 'text_size' });
  t.like(refusal(t, { text: 'a', text_size: '513' }), { option: 'text_size' });
  t.like(refusal(t, { text: 'a', text_opacity: '1.5' }), { option: 'text_opacity' });
  t.like(refusal(t, { text: 'a', text_gravity: 'attention' }), { option: 'text_gravity' });
  t.like(refusal(t, { text_size: '40' }), { option: 'text_size', message: 'text_size: only applies together with text' });
});

test('text options at their defaults are left out of the canonical form', (t) => {
  const form = (query: Readonly<Record<string, string>>) => canonicalise(parseOptions(query), 'webp');
  t.deepEqual(form({ text: 'a', font: 'sans', text_size: '32', text_color: 'black', text_gravity: 'se', text_opacity: '1' }), {
    text: 'a',
    format: 'webp',
  });
  t.deepEqual(form({ text: 'a', text_color: '#FFF' }), { text: 'a', text_color: '#ffffffff', format: 'webp' });
});
