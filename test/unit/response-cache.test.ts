import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import test from 'ava';
import type { TenantRecord } from '../../lib/auth/tenants.ts';
import { ResponseCache, responseKey, type CachedResponse } from '../../lib/http/response-cache.ts';

setFlagsFromString('--expose-gc');
/** A full garbage collection, now. */
const collectGarbage = runInNewContext('gc') as () => void;

const LAST_MODIFIED = new Date('2024-05-06T07:08:09Z');

const response = (body: string, tags: readonly string[] = ['image-1'], disposition: string | null = null): CachedResponse => ({
  body: Buffer.from(body),
  representation: {
    etag: `"${body}-etag"`,
    lastModified: LAST_MODIFIED,
    size: Buffer.byteLength(body),
    contentType: 'image/webp',
    disposition,
  },
  route: '/v1/images/:name',
  tags,
});

/**
 * A server answering from `cache` first, and with `fullPath` otherwise (by default "full path", status 299), as the host does with Koa;
 * a request with a `signed-until` header (Unix seconds) is taken for a signed URL valid that long;
 * `headers` are given to the cache to send besides its own (as the host does with CORS headers).
 */
async function serving(
  cache: ResponseCache,
  headers: Readonly<Record<string, string>> = {},
  fullPath: (reply: ServerResponse) => void = (reply) => reply.writeHead(299).end('full path'),
): Promise<{ url: string; server: Server }> {
  const server = createServer((request, reply) => {
    const signed = request.headers['signed-until'];
    const admitted = {
      tenant: { id: 'acme' } as TenantRecord,
      url: request.url ?? '',
      signatureExpires: signed === undefined ? null : Number(signed),
    };
    if (cache.serve(request, reply, admitted, headers) !== null) return;
    fullPath(reply);
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
  t.is(hit.headers.get('accept-ranges'), 'bytes');
  t.is(hit.headers.get('last-modified'), 'Mon, 06 May 2024 07:08:09 GMT');
  t.is(hit.headers.get('content-disposition'), null);

  const notModified = await fetch(`${url}/v1/images/a.webp?w=400`, { headers: { 'If-None-Match': 'W/"other", "pixels-etag"' } });
  t.is(notModified.status, 304);
  t.is(notModified.headers.get('etag'), '"pixels-etag"');

  const notModifiedSince = await fetch(`${url}/v1/images/a.webp?w=400`, {
    headers: { 'If-Modified-Since': 'Mon, 06 May 2024 07:08:09 GMT' },
  });
  t.is(notModifiedSince.status, 304);

  const head = await fetch(`${url}/v1/images/a.webp?w=400`, { method: 'HEAD' });
  t.is(head.status, 200);
  t.is(head.headers.get('content-length'), '6');
  t.is(head.headers.get('content-type'), 'image/webp');
  t.is(head.headers.get('etag'), '"pixels-etag"');
  t.is(await head.text(), '');

  for (const other of [
    fetch(`${url}/v1/images/a.webp?w=401`),
    fetch(`${url}/v1/images/b.webp`),
    fetch(`${url}/v1/images/a.webp?w=400`, { method: 'DELETE' }),
  ]) {
    const missed = await other;
    t.is(missed.status, 299, "another URL, another tenant's, or another method, takes the full path");
    await missed.text();
  }
});

test('a Range is answered from the entry: 206 with its part; one it cannot satisfy goes to the full path for its 416', async (t) => {
  const cache = new ResponseCache(10, 60_000);
  cache.remember(responseKey('acme', '/v1/images/a.webp'), response('0123456789'));
  const { url, server } = await serving(cache);
  t.teardown(() => server.close());

  const part = await fetch(`${url}/v1/images/a.webp`, { headers: { Range: 'bytes=2-4' } });
  t.is(part.status, 206);
  t.is(await part.text(), '234');
  t.is(part.headers.get('content-range'), 'bytes 2-4/10');
  t.is(part.headers.get('content-length'), '3');
  const suffix = await fetch(`${url}/v1/images/a.webp`, { headers: { Range: 'bytes=-3' } });
  t.is(await suffix.text(), '789');
  const stale = await fetch(`${url}/v1/images/a.webp`, { headers: { Range: 'bytes=2-4', 'If-Range': '"another-etag"' } });
  t.is(stale.status, 200, 'If-Range names another representation: all of it');
  t.is(await stale.text(), '0123456789');
  const beyond = await fetch(`${url}/v1/images/a.webp`, { headers: { Range: 'bytes=10-' } });
  t.is(beyond.status, 299);
  await beyond.text();
});

test("a signed URL's entry is kept by caches no longer than its signature, and a download keeps its Content-Disposition", async (t) => {
  const cache = new ResponseCache(10, 60_000);
  cache.remember(responseKey('acme', '/v1/images/a.webp?download=cat'), response('pixels', ['image-1'], 'attachment; filename="cat.webp"'));
  const { url, server } = await serving(cache);
  t.teardown(() => server.close());

  const signed = await fetch(`${url}/v1/images/a.webp?download=cat`, {
    headers: { 'signed-until': String(Math.floor(Date.now() / 1000) + 600) },
  });
  t.is(signed.status, 200);
  const maxAge = Number(/^public, max-age=(\d+)$/.exec(signed.headers.get('cache-control') ?? '')?.[1]);
  t.true(maxAge > 590 && maxAge <= 600, `max-age ${maxAge}`);
  t.is(signed.headers.get('content-disposition'), 'attachment; filename="cat.webp"');
  await signed.text();
});

test('the headers the host gives (CORS) go with every answer from the cache: 200, 206 and 304', async (t) => {
  const cache = new ResponseCache(10, 60_000);
  cache.remember(responseKey('acme', '/v1/images/a.webp'), response('0123456789'));
  const { url, server } = await serving(cache, { 'Access-Control-Allow-Origin': '*', 'Access-Control-Expose-Headers': 'ETag' });
  t.teardown(() => server.close());

  for (const headers of [{}, { Range: 'bytes=0-1' }, { 'If-None-Match': '"0123456789-etag"' }]) {
    const reply = await fetch(`${url}/v1/images/a.webp`, { headers });
    await reply.arrayBuffer();
    t.is(reply.headers.get('access-control-allow-origin'), '*', `${reply.status}`);
    t.is(reply.headers.get('access-control-expose-headers'), 'ETag', `${reply.status}`);
  }
});

test("a negotiated URL keeps one answer per variant its headers choose, never another client's, with Vary merged with the host's", async (t) => {
  const cache = new ResponseCache(10, 60_000);
  // As ID.auto does: AVIF to a client naming it, else the own format (here the variant is the format).
  const variantOf = (headers: IncomingHttpHeaders) => (headers.accept?.includes('image/avif') === true ? 'avif' : 'jpeg');
  const negotiated = (body: string, variant: string, contentType: string): CachedResponse => {
    const base = response(body);
    return {
      ...base,
      representation: { ...base.representation, contentType },
      negotiation: { variant, variantOf, headers: { Vary: 'Accept' } },
    };
  };
  cache.remember(responseKey('acme', '/v1/images/a.auto'), negotiated('avif bytes', 'avif', 'image/avif'));
  const { url, server } = await serving(cache, { 'Access-Control-Allow-Origin': 'https://page.example', Vary: 'Origin' });
  t.teardown(() => server.close());

  const avif = await fetch(`${url}/v1/images/a.auto`, { headers: { accept: 'image/avif,*/*' } });
  t.is(avif.status, 200);
  t.is(await avif.text(), 'avif bytes');
  t.is(avif.headers.get('content-type'), 'image/avif');
  t.is(avif.headers.get('vary'), 'Origin, Accept');
  const notModified = await fetch(`${url}/v1/images/a.auto`, { headers: { accept: 'image/avif', 'if-none-match': '"avif bytes-etag"' } });
  t.is(notModified.status, 304);
  t.is(notModified.headers.get('vary'), 'Origin, Accept', 'a 304 names what it varies by too');

  const other = await fetch(`${url}/v1/images/a.auto`, { headers: { accept: '*/*' } });
  t.is(other.status, 299, 'a client that takes no AVIF is not given the AVIF: the full path answers it');
  await other.text();

  cache.remember(responseKey('acme', '/v1/images/a.auto'), negotiated('jpeg bytes', 'jpeg', 'image/jpeg'));
  t.is(cache.lookup(responseKey('acme', '/v1/images/a.auto'), { accept: 'image/webp' })?.body.toString(), 'jpeg bytes');
  t.is(
    cache.lookup(responseKey('acme', '/v1/images/a.auto'), { accept: 'image/avif' })?.body.toString(),
    'avif bytes',
    'each variant is kept',
  );
  cache.forget('image-1');
  t.is(
    cache.lookup(responseKey('acme', '/v1/images/a.auto'), { accept: 'image/avif' }),
    undefined,
    'forgetting the image forgets every variant',
  );
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

test('a stale entry is checked by one request; the others are answered with it until the check refreshes it, or drops it', async (t) => {
  let now = 1000;
  const cache = new ResponseCache(10, 500, () => now);
  const key = responseKey('acme', '/v1/images/a.webp');
  cache.remember(key, response('old'));
  let checks = 0;
  /** Given the full path's next reply, unanswered, when a test awaits a check; unexpected full-path requests are answered at once. */
  let entered: ((reply: ServerResponse) => void) | null = null;
  const { url, server } = await serving(cache, {}, (reply) => {
    checks += 1;
    if (entered === null) reply.writeHead(299).end('full path');
    entered?.(reply);
    entered = null;
  });
  t.teardown(() => server.close());
  /** Starts a request that the full path takes, and gives its reply, unanswered, once the full path holds it. */
  const check = async (): Promise<{ reply: ServerResponse; answered: Promise<Response> }> => {
    const held = new Promise<ServerResponse>((resolve) => (entered = resolve));
    const answered = fetch(`${url}/v1/images/a.webp`);
    return { reply: await held, answered };
  };
  const body = async (): Promise<string> => (await fetch(`${url}/v1/images/a.webp`)).text();

  now = 1500;
  const refreshing = await check();
  t.is(await body(), 'old', 'while the one check is in flight, the stale entry answers');
  t.is(await body(), 'old');
  cache.remember(key, response('new'));
  refreshing.reply.writeHead(200).end('new');
  t.is(await (await refreshing.answered).text(), 'new');
  t.is(await body(), 'new', 'the check refreshed it');

  now = 2000;
  const dropping = await check();
  t.is(await body(), 'new');
  dropping.reply.writeHead(404).end('gone');
  t.is((await dropping.answered).status, 404);
  t.is(await body(), 'full path', 'a check that did not refresh the entry dropped it: the next request takes the full path');
  t.is(checks, 3);
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

test('answering from the cache does not count as a check: the entry answered most leaves first if it was remembered first', (t) => {
  const cache = new ResponseCache(2, 60_000);
  cache.remember('/a', response('a'));
  cache.remember('/b', response('b'));
  t.truthy(cache.lookup('/a'));
  cache.remember('/c', response('c'));
  t.is(cache.lookup('/a'), undefined, 'a was remembered least recently, however often it was looked up');
  t.truthy(cache.lookup('/b'));
  t.truthy(cache.lookup('/c'));
});

test('a stale entry lets go of its body once anything is remembered after it, instead of holding it until the cache is full', async (t) => {
  let now = 1000;
  const cache = new ResponseCache(10_000, 500, () => now);
  const body = ((): WeakRef<Buffer> => {
    const stale = response('asked for once');
    cache.remember('/once', stale);
    return new WeakRef(stale.body);
  })();
  now = 1500;
  cache.remember('/next', response('next'));
  await new Promise((resolve) => setImmediate(resolve)); // a WeakRef holds its target until the end of the job that made it
  collectGarbage();
  t.is(body.deref(), undefined);
  t.is(cache.lookup('/next')?.body.toString(), 'next');
});

test('a cache with no freshness, or no room, keeps nothing', (t) => {
  for (const cache of [new ResponseCache(10, 0), new ResponseCache(0, 60_000)]) {
    t.false(cache.enabled);
    cache.remember('/a', response('a'));
    t.is(cache.lookup('/a'), undefined);
  }
});
