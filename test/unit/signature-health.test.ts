import test from 'ava';
import { signatureHealthOf, type SignatureState } from '../../scheduler/signature-state.ts';

const HOUR = 3_600_000;
const now = Date.parse('2026-11-22T12:00:00Z');

const state = (fields: Partial<SignatureState>): SignatureState => ({
  id: 'clamd',
  version: '27800',
  versionSince: '2026-11-22T09:00:00.000Z',
  checkedAt: '2026-11-22T09:00:00.000Z',
  builtAt: '2026-11-22T06:00:00.000Z',
  freshclam: { ok: true, at: '2026-11-22T09:00:00.000Z' },
  ...fields,
});

test('fresh signatures, updated by freshclam or by another process, are healthy', (t) => {
  t.is(signatureHealthOf(state({}), 48 * HOUR, now), undefined);
  t.is(signatureHealthOf(state({ freshclam: null }), 48 * HOUR, now), undefined);
  t.is(signatureHealthOf(undefined, 48 * HOUR, now), undefined, 'the job has not run yet');
});

test('a failed freshclam degrades readiness, naming the failure and the signatures still in force', (t) => {
  const health = signatureHealthOf(
    state({ freshclam: { ok: false, at: '2026-11-22T09:00:00.000Z', error: 'HTTP GET failed' } }),
    48 * HOUR,
    now,
  );
  t.regex(health?.degraded ?? '', /^signatures not updated: freshclam failed at .*HTTP GET failed.*signatures 27800/);
});

test('signatures built longer ago than the limit degrade readiness even when nothing reported a failure', (t) => {
  const old = state({ freshclam: null, builtAt: '2026-11-19T12:00:00.000Z' });
  t.regex(
    signatureHealthOf(old, 48 * HOUR, now)?.degraded ?? '',
    /^signatures out of date: built at 2026-11-19T12:00:00.000Z, more than 48 hours ago/,
  );
  t.is(signatureHealthOf(old, 96 * HOUR, now), undefined, 'within a longer limit');
  t.is(
    signatureHealthOf(state({ freshclam: null, builtAt: null }), 1, now),
    undefined,
    'no build date (no official database): no age to judge',
  );
});
