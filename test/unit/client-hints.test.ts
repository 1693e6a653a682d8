import test from 'ava';
import { clientHintHeaders, readClientHints, withClientHints } from '../../lib/http/client-hints.ts';

test('client hints are read from Sec-CH-* or the legacy names, the ratio clamped to 1-4, the width whole and capped; missing or malformed: ratio 1, no width', (t) => {
  t.deepEqual(readClientHints({}), { dpr: 1, width: undefined });
  t.deepEqual(readClientHints({ 'sec-ch-dpr': '2', 'sec-ch-width': '640' }), { dpr: 2, width: 640 });
  t.deepEqual(readClientHints({ dpr: '1.5', width: '300.6' }), { dpr: 1.5, width: 301 }, 'legacy names');
  t.deepEqual(readClientHints({ 'sec-ch-dpr': '3', dpr: '2' }), { dpr: 3, width: undefined }, 'the standard name first');
  t.deepEqual(readClientHints({ 'sec-ch-dpr': '10', 'sec-ch-width': '99999' }), { dpr: 4, width: 16_384 }, 'clamped');
  t.deepEqual(readClientHints({ 'sec-ch-dpr': '0.5' }), { dpr: 1, width: undefined }, 'never below 1');
  for (const bad of ['', 'two', '-2', '0', 'Infinity'])
    t.deepEqual(readClientHints({ 'sec-ch-dpr': bad, 'sec-ch-width': bad }), { dpr: 1, width: undefined }, bad);
});

test('dpr=auto becomes the hinted ratio; without a size of its own the hinted width sizes the image at ratio 1; other options are left alone', (t) => {
  const hints = { dpr: 2, width: 500 };
  t.deepEqual(withClientHints({ width: 300, dpr: 'auto' }, hints), { width: 300, dpr: 2 });
  t.deepEqual(withClientHints({ height: 100, dpr: 'auto', grayscale: true }, hints), { height: 100, dpr: 2, grayscale: true });
  t.deepEqual(withClientHints({ dpr: 'auto' }, hints), { width: 500, dpr: 1 });
  t.deepEqual(
    withClientHints({ dpr: 'auto' }, { dpr: 3, width: undefined }),
    { dpr: 3 },
    'no width hint: the ratio alone (no size to multiply)',
  );
  t.deepEqual(withClientHints({ width: 300, dpr: 'auto' }, { dpr: 1, width: undefined }), { width: 300, dpr: 1 }, 'no hints: 1');
  t.deepEqual(withClientHints({ width: 300, dpr: 2 }, hints), { width: 300, dpr: 2 }, 'a given ratio stays');
  t.deepEqual(withClientHints({ width: 300 }, hints), { width: 300 });
});

test('the answer to dpr=auto varies by the ratio hints, and by the width hints only when the options give no size', (t) => {
  t.deepEqual(clientHintHeaders({ width: 300, dpr: 'auto' }), ['Sec-CH-DPR', 'DPR']);
  t.deepEqual(clientHintHeaders({ dpr: 'auto' }), ['Sec-CH-DPR', 'DPR', 'Sec-CH-Width', 'Width']);
});
