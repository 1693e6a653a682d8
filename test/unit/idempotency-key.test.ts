import test from 'ava';
import type { Context } from 'koa';
import { HttpError } from '../../lib/http/errors.ts';
import { idempotencyKey } from '../../lib/http/idempotency-key.ts';

const withHeaders = (headers: Record<string, string | string[]>): Context => ({ headers }) as unknown as Context;

test('without an Idempotency-Key header there is no key; a valid one is the key', (t) => {
  t.is(idempotencyKey(withHeaders({})), null);
  t.is(idempotencyKey(withHeaders({ 'idempotency-key': 'order-42' })), 'order-42');
});

test('an empty, too long, repeated or not visible-ASCII Idempotency-Key is a 400 naming the header, not "no key"', (t) => {
  for (const value of ['', ' ', 'order 42', 'x'.repeat(256), 'clé', ['a', 'b']]) {
    const error = t.throws(() => idempotencyKey(withHeaders({ 'idempotency-key': value })), { instanceOf: HttpError });
    t.like(error, { status: 400, code: 'invalid_idempotency_key' }, JSON.stringify(value));
    t.regex(error.message, /Idempotency-Key/);
  }
});
