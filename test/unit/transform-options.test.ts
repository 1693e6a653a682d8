import test, { type ExecutionContext } from 'ava';
import { DomainError } from '../../lib/errors.ts';
import { answerOf } from '../support/error-answer.ts';
import { canonicalise, stableJson, transformHash } from '../../lib/transform/canonical.ts';
import { parseOptions } from '../../lib/transform/options.ts';
import { assertOutputBounds, plannedSize } from '../../lib/transform/planned-size.ts';
import { parsePresets } from '@progimage/transform-language/schema';
import { expandPreset } from '../../lib/transform/presets.ts';

const canonical = (query: Record<string, unknown>, format: Parameters<typeof canonicalise>[1] = 'webp') =>
  stableJson(canonicalise(parseOptions(query), format));

/** The error a bad option gives: 400 invalid_transform, naming the option. */
function refusal(t: ExecutionContext, query: Record<string, unknown>, format: Parameters<typeof canonicalise>[1] = 'webp') {
  const http = t.throws(() => canonicalise(parseOptions(query), format), { instanceOf: DomainError });
  t.is(answerOf(http).status, 400);
  t.is(http.code, 'invalid_transform');
  return { option: http.details.option, message: http.message };
}

test('two spellings of one request have one canonical form and one key', (t) => {
  const spellings = [
    { w: '300', h: '200', fit: 'cover', g: 'center', q: '80', flip: 'true' },
    { height: 200, width: 300, flip: true, gravity: 'centre' },
    { width: '150', height: '100', dpr: '2', flip: '', fit: 'cover' },
    { W: '300', H: '200', FLIP: '1', rotate: '360' },
  ];
  const forms = spellings.map((query) => canonical(query));
  t.deepEqual(new Set(forms).size, 1, forms.join('\n'));
  t.is(forms[0], '{"flip":true,"format":"webp","height":200,"width":300}');
  const keys = spellings.map((query) => transformHash('default/x', canonicalise(parseOptions(query), 'webp')));
  t.is(new Set(keys).size, 1);
});

test('different work has a different key, and so does another source', (t) => {
  const one = canonicalise(parseOptions({ w: '300' }), 'webp');
  const other = canonicalise(parseOptions({ w: '301' }), 'webp');
  t.not(transformHash('default/a', one), transformHash('default/a', other));
  t.not(transformHash('default/a', one), transformHash('default/b', one));
  t.not(canonical({ w: '300' }, 'webp'), canonical({ w: '300' }, 'png'));
});

test('options that cannot matter are dropped from the canonical form', (t) => {
  t.is(canonical({ w: '300', fit: 'inside', g: 'north' }), canonical({ w: '300' }), 'fit and gravity mean nothing with one side');
  t.is(canonical({ rotate: '90', bg: 'red' }), canonical({ rotate: '-270' }), 'a background is not used by right-angle rotation');
  t.is(canonical({ brightness: '1', hue: '0', extend: '0', enlarge: 'false' }), '{"format":"webp"}');
  t.is(canonical({ mask: 'rounded' }), '{"format":"webp","mask":{"shape":"rounded"},"radius":16}');
  t.is(canonical({ mask: 'circle', bg: 'red' }), '{"format":"webp","mask":{"shape":"circle"}}', 'a format with alpha shows no background');
  t.is(canonical({ mask: 'circle' }, 'jpeg'), canonical({ mask: 'circle', flatten: 'true' }, 'jpeg'), 'into JPEG a mask is flattened');
  t.is(
    canonical({ mask: 'circle', bg: 'red' }, 'jpeg'),
    '{"background":"#ff0000ff","flatten":true,"format":"jpeg","mask":{"shape":"circle"}}',
  );
  t.is(canonical({ bg: '#F00', extend: '4' }), canonical({ background: 'ff0000ff', pad: '4,4,4,4' }));
});

test('trim and sharpen are switches or numbers: a number in the query is the number, "0" is off, a bare name is the default', (t) => {
  t.is(canonical({ trim: '1' }), '{"format":"webp","trim":1}');
  t.is(canonical({ trim: '1' }), canonical({ trim: 1 }), 'the query and JSON mean the same threshold');
  t.is(canonical({ trim: '' }), canonical({ trim: 'true' }));
  t.is(canonical({ trim: '' }), '{"format":"webp","trim":10}');
  t.is(canonical({ sharpen: '1' }), '{"format":"webp","sharpen":1}');
  t.is(canonical({ sharpen: '2.5' }), canonical({ sharpen: 2.5 }));
  t.is(canonical({ trim: '0', sharpen: '0' }), '{"format":"webp"}');
  t.is(canonical({ trim: 'no', sharpen: 'false' }), '{"format":"webp"}');
  t.like(refusal(t, { trim: '256' }), { option: 'trim' });
  t.like(refusal(t, { sharpen: '0.1' }), { option: 'sharpen' });
  t.regex(refusal(t, { trim: 'lots' }).message, /^trim: expected true, false or a threshold from 1 to 255/);
});

test('every refusal names the option and what it expected', (t) => {
  t.like(refusal(t, { w: '0' }), { option: 'width' });
  t.like(refusal(t, { w: 'wide' }), { option: 'width' });
  t.regex(refusal(t, { rotate: '400' }).message, /^rotate: expected an angle in degrees from -360 to 360/);
  t.like(refusal(t, { fit: 'squash', w: '1', h: '1' }), { option: 'fit' });
  t.like(refusal(t, { blur: '0.1' }), { option: 'blur' });
  t.like(refusal(t, { median: '4' }), { option: 'median' });
  t.like(refusal(t, { bg: 'not-a-colour', extend: '2' }), { option: 'background' });
  t.like(refusal(t, { crop: '1,2,3' }), { option: 'crop' });
  t.like(refusal(t, { mask: 'star' }), { option: 'mask' });
  t.like(refusal(t, { overlay: '../../etc/passwd' }), { option: 'overlay' });
  t.like(refusal(t, { sepia: '1' }), { option: 'sepia' });
  t.like(refusal(t, { w: ['1', '2'] }), { option: 'w' });
  t.like(refusal(t, { w: '1', width: '2' }), { option: 'width' });
  t.like(refusal(t, { fit: 'cover' }), { option: 'fit' });
  t.like(refusal(t, { radius: '4', mask: 'circle' }), { option: 'radius' });
  t.like(refusal(t, { overlay_opacity: '0.5' }), { option: 'overlay_opacity' });
  t.like(refusal(t, { effort: '9' }, 'webp'), { option: 'effort' });
  t.like(refusal(t, { quality: '50' }, 'gif'), { option: 'quality' });
  t.like(refusal(t, { lossless: '1' }, 'jpeg'), { option: 'lossless' });
  t.like(refusal(t, { format: 'png' }, 'webp'), { option: 'format' });
  t.like(refusal(t, { max_bytes: '10' }), { option: 'max_bytes' });
});

test('the planned output size bounds what a transformation can make, before any pixel is touched', (t) => {
  const photo = { width: 2725, height: 2225 };
  const plan = (query: Record<string, string>) => plannedSize(photo, canonicalise(parseOptions(query), 'png'));
  t.deepEqual(plan({ w: '720' }), { width: 720, height: 588 });
  t.deepEqual(plan({ w: '5000' }), photo, 'no enlargement unless asked');
  t.deepEqual(plan({ w: '300', h: '300', fit: 'inside', rotate: '90' }), { width: 245, height: 300 });
  t.deepEqual(plan({ crop: '0,0,100,50', extend: '10,0,10,0' }), { width: 100, height: 70 });
  const huge = plan({ w: '16000', h: '16000', enlarge: '1', fit: 'fill' });
  const error = t.throws(
    () => {
      assertOutputBounds(huge);
    },
    { instanceOf: DomainError },
  );
  t.is(error.code, 'output_too_large');
});

test('a preset stands for its options; the request may add to them, unless only presets are allowed', (t) => {
  const presets = parsePresets({ avatar: { w: 64, h: 64, mask: 'circle' } });
  t.deepEqual(expandPreset({ preset: 'avatar' }, presets, false), { w: 64, h: 64, mask: 'circle' });
  t.deepEqual(expandPreset({ preset: 'avatar', w: '32' }, presets, false), { w: '32', h: 64, mask: 'circle' });
  t.deepEqual(expandPreset({ w: '32' }, presets, false), { w: '32' });
  t.deepEqual(expandPreset({}, presets, true), {}, 'a plain conversion is always allowed');
  t.deepEqual(expandPreset({ preset: 'avatar', format: 'png' }, presets, true), { w: 64, h: 64, mask: 'circle', format: 'png' });
  t.like(answerOf(t.throws(() => expandPreset({ preset: 'banner' }, presets, false), { instanceOf: DomainError })), {
    status: 400,
    code: 'invalid_transform',
  });
  t.like(answerOf(t.throws(() => expandPreset({ w: '32' }, presets, true), { instanceOf: DomainError })), {
    status: 403,
    code: 'presets_only',
  });
  t.like(answerOf(t.throws(() => expandPreset({ preset: 'avatar', blur: '2' }, presets, true), { instanceOf: DomainError })), {
    status: 403,
    code: 'presets_only',
  });
});

test('dpr is 1 to 4 or auto; auto needs no size (a width hint may give it) and, where no client hints are read, is 1', (t) => {
  t.is(canonical({ w: '100', dpr: 'auto' }), canonical({ w: '100' }));
  t.is(canonical({ dpr: 'auto' }), canonical({}));
  t.is(canonical({ w: '100', dpr: '2' }), canonical({ w: '200' }));
  t.like(refusal(t, { w: '100', dpr: '5' }), { option: 'dpr', message: 'dpr: expected auto or a device pixel ratio from 1 to 4' });
  t.like(refusal(t, { w: '100', dpr: 'AUTOMATIC' }), { option: 'dpr', message: 'dpr: expected auto or a device pixel ratio from 1 to 4' });
  t.like(refusal(t, { dpr: '2' }), { option: 'dpr', message: 'dpr: only applies together with width or height' });
});
