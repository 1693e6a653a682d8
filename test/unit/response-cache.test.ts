import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import test from 'ava';
import type { TenantRecord } from '../../lib/auth/tenants.ts';
import { ResponseCache, responseKey, type CachedResponse } from '../../lib/http/response-cache.ts';

const response = (body: string, tags: readonly string[] = ['image-1']): CachedResponse => ({
  body: Buffer.from(body),
  etag: `"${body}-etag"`,
  contentType: 'image/webp',
  route: '/v1/images/:name',
  tags,
});

/** A server answering from `cache` first, and "full path" (status 299) otherwise, as the host does with Koa. */
async function serving(cache: ResponseCache): Promise<{ url: string; server: Server }> {
  const server = createServer((request, reply) => {
    if (cache.serve(request, reply, { tenant: { id: 'acme' } as TenantRecord, url: request.url ?? '' }) !== null) return;
    reply.writeHead(299).end('full path');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

test('a fresh entry is answered as the full path sent it: 200 with its bytes and headers, 304 for its ETag, HEAD without a body', async (t) => {
  const cache = new ResponseCache(10, 60_000);
  cache.remember(responseKey('acme', '/v1/images/a.webp?w=400'), response('pixels'));
  cache.remember(responseKey('other', '/v1/images/b.webp'), response('other tenant'));
  const { url, server } = await serving(cache);
  t.teardown(() => server.close());

  const hit = await fetch(`${url}/v1/images/a.webp?w=400`);
  t.is(hit.status, 200);
  t.is(await hit.text(), 'pixels');
  t.is(hit.headers.get('content-type'), 'image/webp');
  t.is(hit.headers.get('content-length'), '6');
  t.is(hit.headers.get('etag'), '"pixels-etag"');
  t.is(hit.headers.get('cache-control'), 'public, max-age=31536000, immutable');
  t.is(hit.headers.get('x-content-type-options'), 'nosniff');

  const notModified = await fetch(`${url}/v1/images/a.webp?w=400`, { headers: { 'If-None-Match': 'W/"other", "pixels-etag"' } });
  t.is(notModified.status, 304);
  t.is(notModified.headers.get('etag'), '"pixels-etag"');

  const head = await fetch(`${url}/v1/images/a.webp?w=400`, { method: 'HEAD' });
  t.is(head.status, 200);
  t.is(head.headers.get('content-length'), '6');
  t.is(await head.text(), '');

  for (const other of [fetch(`${url}/v1/images/a.webp?w=401`), fetch(`${url}/v1/images/b.webp`), fetch(`${url}/v1/images/a.webp?w=400`, { method: 'DELETE' })]) {
    const missed = await other;
    t.is(missed.status, 299, "another URL, another tenant's, or another method, takes the full path");
    await missed.text();
  }
});

test('an entry is answered only while fresh, then the full path checks the image again', (t) => {
  let now = 1000;
  const cache = new ResponseCache(10, 500, () => now);
  cache.remember('/a', response('a'));
  now = 1499;
  t.is(cache.lookup('/a')?.body.toString(), 'a');
  now = 1500;
  t.is(cache.lookup('/a'), undefined);
  cache.remember('/a', response('a'));
  t.is(cache.lookup('/a')?.body.toString(), 'a', 'remembering again makes it fresh again');
});

test('forgetting an image drops every response of it, and only those', (t) => {
  const cache = new ResponseCache(10, 60_000);
  cache.remember('/v1/images/one.webp', response('one-webp', ['one']));
  cache.remember('/v1/images/one.png?w=10', response('one-png', ['one']));
  cache.remember('/v1/images/two.webp', response('two-webp', ['two']));
  cache.forget('one');
  t.is(cache.lookup('/v1/images/one.webp'), undefined);
  t.is(cache.lookup('/v1/images/one.png?w=10'), undefined);
  t.is(cache.lookup('/v1/images/two.webp')?.body.toString(), 'two-webp');
  cache.forget('one');
  cache.remember('/v1/images/one.webp', response('one-webp', ['one']));
  t.is(cache.lookup('/v1/images/one.webp')?.body.toString(), 'one-webp', 'an image can be remembered again after being forgotten');
});

test('past its size the least recently checked entries leave first, with their tags', (t) => {
  const cache = new ResponseCache(2, 60_000);
  cache.remember('/a', response('a', ['x']));
  cache.remember('/b', response('b', ['x']));
  cache.remember('/a', response('a', ['x']));
  cache.remember('/c', response('c', ['x']));
  t.is(cache.lookup('/b'), undefined, 'b was checked least recently');
  t.truthy(cache.lookup('/a'));
  t.truthy(cache.lookup('/c'));
  cache.forget('x');
  t.is(cache.lookup('/a'), undefined);
  t.is(cache.lookup('/c'), undefined);
});

test('a cache with no freshness keeps nothing', (t) => {
  const cache = new ResponseCache(10, 0);
  t.false(cache.enabled);
  cache.remember('/a', response('a'));
  t.is(cache.lookup('/a'), undefined);
});
