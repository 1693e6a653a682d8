import test from 'ava';
import { canonicalise } from '../../lib/transform/canonical.ts';
import { estimateTransform } from '../../lib/transform/cost.ts';
import { parseOptions } from '../../lib/transform/options.ts';
import type { OutputFormat } from '../../lib/events/payloads.ts';

const PHOTO = { width: 2725, height: 2225 };
const HUNDRED_MEGAPIXELS = { width: 10_000, height: 10_000 };
const HEAVY = 1000;
const BUDGET = 20_000;

const cost = (source: { width: number; height: number }, query: Record<string, string>, format: OutputFormat = 'jpeg') =>
  estimateTransform(source, canonicalise(parseOptions(query), format)).cpuMs;
const memoryMb = (source: { width: number; height: number }, query: Record<string, string>, format: OutputFormat) =>
  estimateTransform(source, canonicalise(parseOptions(query), format)).memoryBytes / (1024 * 1024);

test('a thumbnail of a 6-megapixel photo is cheap, whatever the format', (t) => {
  for (const format of ['jpeg', 'webp', 'avif', 'png'] as const)
    t.true(cost(PHOTO, { width: '720', height: '588' }, format) < HEAVY, format);
});

test('a strong blur of a 100-megapixel image is over the budget; the same blur on its thumbnail adds little (filters run after the resize)', (t) => {
  t.true(cost(HUNDRED_MEGAPIXELS, { blur: '100' }) > BUDGET);
  t.true(cost(HUNDRED_MEGAPIXELS, { width: '400', blur: '100' }) - cost(HUNDRED_MEGAPIXELS, { width: '400' }) < 50);
});

test('the cost grows with the blur, the median window, the output size and the encoder effort', (t) => {
  t.true(cost(PHOTO, { blur: '50' }) > cost(PHOTO, { blur: '5' }));
  t.true(cost(PHOTO, { median: '15' }) > cost(PHOTO, { median: '3' }));
  t.true(cost(PHOTO, { width: '5000', enlarge: 'true' }) > cost(PHOTO, {}));
  t.true(cost(PHOTO, { effort: '6' }, 'avif') > 10 * cost(PHOTO, {}, 'avif'));
  t.true(cost(PHOTO, { dpr: '2', width: '1000' }) > cost(PHOTO, { width: '1000' }));
});

test('a full-size AVIF of a 6-megapixel photo is heavy but allowed; at the highest effort it is refused', (t) => {
  const avif = cost(PHOTO, {}, 'avif');
  t.true(avif >= HEAVY && avif <= BUDGET, String(avif));
  t.true(cost(PHOTO, { effort: '9' }, 'avif') > BUDGET);
});

test('memory: a plain AVIF of 100 megapixels needs gigabytes, over the default budget of 768 MB; a plain JPEG of it fits; a thumbnail holds the decoded source', (t) => {
  t.true(memoryMb(HUNDRED_MEGAPIXELS, {}, 'avif') > 3000);
  t.true(memoryMb(HUNDRED_MEGAPIXELS, {}, 'jpeg') < 768);
  const thumbnail = memoryMb(HUNDRED_MEGAPIXELS, { width: '400' }, 'avif');
  t.true(thumbnail > 380 && thumbnail < 768, String(thumbnail));
});
