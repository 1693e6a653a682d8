import test from 'ava';
import type { Context } from 'koa';
import { HttpError } from '../../lib/http/errors.ts';
import { expiresAtOf } from '../../ingest/time-to-live.ts';

const NOW = Date.parse('2026-01-01T00:00:00.000Z');
const upload = (query: Record<string, string>, headers: Record<string, string>): Context => ({ query, headers }) as unknown as Context;
const after = (seconds: number): string => new Date(NOW + seconds * 1000).toISOString();

test('a ttl given as ?ttl= or X-ProgImage-TTL sets the expiry; without either the default does', (t) => {
  t.is(expiresAtOf(upload({ ttl: '30' }, {}), 600, NOW), after(30));
  t.is(expiresAtOf(upload({}, { 'x-progimage-ttl': '40' }), 600, NOW), after(40));
  t.is(expiresAtOf(upload({}, {}), 600, NOW), after(600));
  t.is(expiresAtOf(upload({}, {}), null, NOW), undefined);
});

test('a ttl given both ways is taken when both are valid, ?ttl= winning; either one not valid is a 400 invalid_ttl', (t) => {
  t.is(expiresAtOf(upload({ ttl: '30' }, { 'x-progimage-ttl': '30' }), null, NOW), after(30));
  t.is(expiresAtOf(upload({ ttl: '30' }, { 'x-progimage-ttl': '90' }), null, NOW), after(30));
  for (const [query, header] of [
    ['30', ''],
    ['0', '30'],
    ['30', 'soon'],
  ]) {
    const error = t.throws(() => expiresAtOf(upload({ ttl: query ?? '' }, { 'x-progimage-ttl': header ?? '' }), null, NOW), {
      instanceOf: HttpError,
    });
    t.like(error, { status: 400, code: 'invalid_ttl' });
  }
});
