import test from 'ava';
import { LruMap } from '../../lib/lru-map.ts';

interface Blob {
  readonly name: string;
  readonly bytes: number;
}

const blob = (name: string, bytes = 1): Blob => ({ name, bytes });

/** Which of `keys` are still held, read with `peek` so that reading does not change the order. */
const held = (map: LruMap<string, Blob>, keys: readonly string[]): string[] => keys.filter((key) => map.peek(key) !== undefined);

test('past a budget of entries the least recently used leave first; get makes an entry recent, peek does not', (t) => {
  const evicted: string[] = [];
  const map = new LruMap<string, Blob>(3, { onEvict: (key) => evicted.push(key) });
  for (const key of ['a', 'b', 'c']) map.set(key, blob(key));
  t.is(map.get('a')?.name, 'a');
  t.is(map.peek('b')?.name, 'b');
  map.set('d', blob('d'));
  t.deepEqual(evicted, ['b'], 'a was used after b; peeking at b did not count');
  map.set('c', blob('c'));
  map.set('e', blob('e'));
  t.deepEqual(evicted, ['b', 'a'], 'setting c again made it recent');
  t.deepEqual(held(map, ['a', 'b', 'c', 'd', 'e']), ['c', 'd', 'e']);
});

test('with a weight per entry the budget holds their total: as many of the oldest leave as it takes', (t) => {
  const evicted: string[] = [];
  const map = new LruMap<string, Blob>(300, { weigh: (value) => value.bytes, onEvict: (key) => evicted.push(key) });
  for (const key of ['a', 'b', 'c']) map.set(key, blob(key, 100));
  map.set('big', blob('big', 250));
  t.deepEqual(evicted, ['a', 'b', 'c']);
  map.set('small', blob('small', 50));
  t.deepEqual(held(map, ['big', 'small']), ['big', 'small'], 'exactly the budget fits');
  map.set('huge', blob('huge', 301));
  t.deepEqual(held(map, ['big', 'small', 'huge']), [], 'an entry heavier than the budget leaves at once, after the rest');
  t.deepEqual(evicted, ['a', 'b', 'c', 'big', 'small', 'huge']);
});

test('replacing or deleting an entry frees its weight, and neither counts as an eviction', (t) => {
  const evicted: string[] = [];
  const map = new LruMap<string, Blob>(200, { weigh: (value) => value.bytes, onEvict: (key) => evicted.push(key) });
  map.set('a', blob('a', 150));
  map.set('a', blob('a2', 150));
  t.is(map.peek('a')?.name, 'a2');
  t.true(map.delete('a'));
  t.false(map.delete('a'));
  map.set('b', blob('b', 200));
  t.deepEqual(evicted, []);
  t.deepEqual(held(map, ['a', 'b']), ['b']);
});

test('oldest is the least recently used entry, read without changing its place', (t) => {
  const map = new LruMap<string, Blob>(3);
  t.is(map.oldest(), undefined);
  for (const key of ['a', 'b', 'c']) map.set(key, blob(key));
  map.get('a');
  t.is(map.oldest()?.[0], 'b');
  t.is(map.oldest()?.[0], 'b', 'reading it did not make it recent');
  map.delete('b');
  t.is(map.oldest()?.[0], 'c');
});
