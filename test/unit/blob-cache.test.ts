import test from 'ava';
import { BlobCache } from '../../catalog/blob-cache.ts';

const blob = (key: string, size: number) => ({
  info: { key, size, contentType: 'image/webp', sha256: key, lastModified: new Date(0) },
  data: Buffer.alloc(size),
});

test('the least recently used blobs leave first once the cache is full', (t) => {
  const cache = new BlobCache(300, 200);
  cache.set('a', blob('a', 100));
  cache.set('b', blob('b', 100));
  cache.set('c', blob('c', 100));
  t.truthy(cache.get('a'), 'reading a makes b the least recently used');
  cache.set('d', blob('d', 100));
  t.is(cache.get('b'), undefined);
  t.deepEqual(
    ['a', 'c', 'd'].map((key) => cache.get(key)?.info.key),
    ['a', 'c', 'd'],
  );
});

test('a blob over the per-blob limit is never cached; replacing a key does not count it twice', (t) => {
  const cache = new BlobCache(300, 200);
  cache.set('big', blob('big', 201));
  t.is(cache.get('big'), undefined);
  cache.set('a', blob('a', 150));
  cache.set('a', blob('a', 150));
  cache.set('b', blob('b', 150));
  t.truthy(cache.get('a'));
  t.truthy(cache.get('b'));
});

test('the budget holds the total bytes: exactly the budget fits, and as many of the oldest leave as a new blob needs', (t) => {
  const cache = new BlobCache(300, 300);
  for (const key of ['a', 'b', 'c']) cache.set(key, blob(key, 100));
  t.deepEqual(
    ['a', 'b', 'c'].map((key) => cache.get(key)?.info.key),
    ['a', 'b', 'c'],
    'exactly the budget fits',
  );
  cache.set('big', blob('big', 250));
  t.deepEqual(
    ['a', 'b', 'c', 'big'].map((key) => cache.get(key)?.info.key),
    [undefined, undefined, undefined, 'big'],
  );
  cache.set('small', blob('small', 50));
  t.deepEqual(
    ['big', 'small'].map((key) => cache.get(key)?.info.key),
    ['big', 'small'],
  );
});

test('an empty blob is cached like any other', (t) => {
  const cache = new BlobCache(300, 200);
  cache.set('empty', blob('empty', 0));
  t.is(cache.get('empty')?.data.length, 0);
});
