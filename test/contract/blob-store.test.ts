import { createHash, randomUUID } from 'node:crypto';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import test, { type ExecutionContext } from 'ava';
import { createFolderBlobStore } from '../../lib/adapters/folder-blob-store.ts';
import { MinioBlobStore, createMinioBlobStore } from '../../lib/adapters/minio-blob-store.ts';
import type { S3Config } from '../../lib/config/index.ts';
import { DependencyUnavailableError } from '../../lib/errors.ts';
import { BlobNotFoundError, InvalidBlobKeyError, type BlobInfo, type BlobStore } from '../../lib/ports/blob-store.ts';
import { createS3Client } from '../../lib/s3/client.ts';
import { readFixture } from '../support/fixtures.ts';
import { serverConfig } from '../support/servers.ts';
import { startStallProxy } from '../support/stall-proxy.ts';

/** A store for one test, and the key prefix that test owns (MinIO's bucket is shared by every test). */
interface Subject {
  readonly store: BlobStore;
  readonly key: (name: string) => string;
}

interface Adapter {
  readonly name: string;
  readonly open: (t: ExecutionContext) => Promise<Subject>;
  /** A store of this kind whose storage fails whatever is asked of it. */
  readonly openUnusable: (t: ExecutionContext) => Promise<BlobStore>;
}

async function temporaryFolder(t: ExecutionContext): Promise<string> {
  const folder = await mkdtemp(join(tmpdir(), 'progimage-blob-store-'));
  t.teardown(() => rm(folder, { recursive: true, force: true }));
  return folder;
}

/** The real local MinIO (started if it is not running) and one store on it, shared by the tests of this file. */
let minio: Promise<{ readonly s3: S3Config; readonly store: BlobStore }> | undefined;
const minioStore = () => (minio ??= serverConfig().then(async ({ s3 }) => ({ s3, store: await createMinioBlobStore(s3) })));

const minioAdapter: Adapter = {
  name: 'minio',
  open: async (t) => {
    const { store } = await minioStore();
    const base = `contract/${randomUUID()}`;
    t.teardown(async () => {
      for await (const { key } of store.list(`${base}/`)) await store.delete(key);
    });
    return { store, key: (name) => `${base}/${name}` };
  },
  openUnusable: async () => {
    const { s3 } = await minioStore();
    return new MinioBlobStore(createS3Client({ ...s3, endpoint: new URL('http://127.0.0.1:1') }), s3.bucket, s3.timeoutMs);
  },
};

const folderAdapter: Adapter = {
  name: 'folder',
  open: async (t) => {
    const store = await createFolderBlobStore(await temporaryFolder(t));
    return { store, key: (name) => `t/${name}` };
  },
  openUnusable: async (t) => {
    const root = join(await temporaryFolder(t), 'root');
    const store = await createFolderBlobStore(root);
    await rm(root, { recursive: true });
    await writeFile(root, 'a file where the folder should be');
    return store;
  },
};

const adapters: readonly Adapter[] = [minioAdapter, folderAdapter];

const sha256 = (content: Buffer): string => createHash('sha256').update(content).digest('hex');

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const collected: T[] = [];
  for await (const item of items) collected.push(item);
  return collected;
}

const INVALID_KEYS = [
  '../x',
  '/abs',
  'a//b',
  'a/../b',
  'with\0nul',
  '.',
  '',
  'k'.repeat(2000),
  'k'.repeat(201),
  'a/'.repeat(512) + 'b',
  'trailing/',
  'a/./b',
  'back\\slash',
  'spa ce',
  'ünicode',
];

/** ".." or "." alone are prefixes of valid keys ("..x", ".x"); followed by "/" they are not. */
const INVALID_PREFIXES = ['../', './', '/abs', 'a//', 'a/../', 'with\0nul', 'k'.repeat(2000), 'back\\'];

/** Every operation of the store on an invalid key (or prefix), with a valid one wherever a second key is needed. */
const invalidKeyOperations = (store: BlobStore, invalid: string, valid: string) => ({
  put: () => store.put(invalid, Buffer.from('x'), { contentType: 'text/plain' }),
  get: () => store.get(invalid),
  getStream: () => store.getStream(invalid),
  stat: () => store.stat(invalid),
  delete: () => store.delete(invalid),
  'move from': () => store.move(invalid, valid),
  'move to': () => store.move(valid, invalid),
});

for (const { name, open, openUnusable } of adapters) {
  test(`${name}: an image put with its content type reads back byte for byte, and stat reports its size, type and sha256`, async (t) => {
    const { store, key } = await open(t);
    const image = await readFixture('flowers.jpeg');

    const before = Date.now();
    const put = await store.put(key('flowers.jpg'), image, { contentType: 'image/jpeg' });
    const after = Date.now();

    const described = { key: key('flowers.jpg'), size: image.length, contentType: 'image/jpeg', sha256: sha256(image) };
    t.like(put, described);
    const { lastModified, ...stat } = (await store.stat(key('flowers.jpg'))) ?? t.fail('no blob after its put');
    t.deepEqual(stat, described);
    // S3 gives Last-Modified to the second.
    t.true(lastModified.getTime() >= Math.floor(before / 1000) * 1000 && lastModified.getTime() <= after, lastModified.toISOString());
    t.true((await store.get(key('flowers.jpg'))).equals(image));
    t.true((await buffer(await store.getStream(key('flowers.jpg')))).equals(image));
  });

  test(`${name}: getStream with a range reads exactly those bytes: the first, a middle, the last`, async (t) => {
    const { store, key } = await open(t);
    const image = await readFixture('flowers.jpeg');
    await store.put(key('ranged.jpg'), image, { contentType: 'image/jpeg' });
    const last = image.length - 1;
    for (const range of [
      { start: 0, end: 0 },
      { start: 100, end: 1123 },
      { start: last - 99, end: last },
      { start: 0, end: last },
    ]) {
      const read = await buffer(await store.getStream(key('ranged.jpg'), range));
      t.true(read.equals(image.subarray(range.start, range.end + 1)), `bytes ${range.start}-${range.end}`);
    }
  });

  test(`${name}: put replaces the content and the content type`, async (t) => {
    const { store, key } = await open(t);
    const [jpeg, png] = await Promise.all([readFixture('320x240.jpg'), readFixture('with-alpha.png')]);
    await store.put(key('image'), jpeg, { contentType: 'image/jpeg' });

    const replaced = await store.put(key('image'), png, { contentType: 'image/png' });

    t.like(replaced, { size: png.length, contentType: 'image/png', sha256: sha256(png) });
    t.like(await store.stat(key('image')), replaced);
    t.true((await store.get(key('image'))).equals(png));
  });

  test(`${name}: an empty blob is a blob`, async (t) => {
    const { store, key } = await open(t);
    await store.put(key('empty'), Buffer.alloc(0), { contentType: 'application/octet-stream' });
    t.like(await store.stat(key('empty')), { size: 0, sha256: sha256(Buffer.alloc(0)) });
    t.is((await store.get(key('empty'))).length, 0);
  });

  test(`${name}: a missing key has no stat, and get and getStream reject with BlobNotFoundError`, async (t) => {
    const { store, key } = await open(t);
    t.is(await store.stat(key('missing')), null);
    const error = await t.throwsAsync(store.get(key('missing')), { instanceOf: BlobNotFoundError });
    t.is(error.key, key('missing'));
    t.false(error.retriable);
    await t.throwsAsync(store.getStream(key('missing')), { instanceOf: BlobNotFoundError });
  });

  test(`${name}: delete removes the blob and succeeds again when there is nothing left to delete`, async (t) => {
    const { store, key } = await open(t);
    await store.put(key('doomed'), Buffer.from('bytes'), { contentType: 'text/plain' });

    await store.delete(key('doomed'));
    t.is(await store.stat(key('doomed')), null);
    await t.throwsAsync(store.get(key('doomed')), { instanceOf: BlobNotFoundError });
    await t.notThrowsAsync(store.delete(key('doomed')));
    await t.notThrowsAsync(store.delete(key('never-was')));
  });

  test(`${name}: move leaves only the target, with the same content, type and sha256, and a repeated move succeeds`, async (t) => {
    const { store, key } = await open(t);
    const image = await readFixture('4.webp');
    await store.put(key('incoming/1'), image, { contentType: 'image/webp' });

    await store.move(key('incoming/1'), key('quarantine/1'));

    t.is(await store.stat(key('incoming/1')), null);
    t.like(await store.stat(key('quarantine/1')), { size: image.length, contentType: 'image/webp', sha256: sha256(image) });
    t.true((await store.get(key('quarantine/1'))).equals(image));
    await t.notThrowsAsync(store.move(key('incoming/1'), key('quarantine/1')));
    t.deepEqual(
      (await collect(store.list(key('')))).map((info) => info.key),
      [key('quarantine/1')],
    );
  });

  test(`${name}: move replaces an existing target, keeps a blob moved onto itself, and rejects when there is nothing to move`, async (t) => {
    const { store, key } = await open(t);
    await store.put(key('new'), Buffer.from('new'), { contentType: 'text/plain' });
    await store.put(key('old'), Buffer.from('old'), { contentType: 'text/csv' });

    await store.move(key('new'), key('old'));
    t.like(await store.stat(key('old')), { contentType: 'text/plain', sha256: sha256(Buffer.from('new')) });
    t.is((await store.get(key('old'))).toString(), 'new');

    await store.move(key('old'), key('old'));
    t.is((await store.get(key('old'))).toString(), 'new');

    const error = await t.throwsAsync(store.move(key('missing'), key('nowhere')), { instanceOf: BlobNotFoundError });
    t.is(error.key, key('missing'));
    t.is(await store.stat(key('nowhere')), null);
    await t.throwsAsync(store.move(key('missing'), key('missing')), { instanceOf: BlobNotFoundError });
  });

  test(`${name}: list yields exactly the blobs under a prefix, in byte order of their keys, with their stat`, async (t) => {
    const { store, key } = await open(t);
    // "-" and "." sort before "/", digits and letters after it: a folder walk must still give S3's order.
    const names = ['a/b/z', 'a/b/c/d', 'a/b/c-d', 'a/b/c.d', 'a/b/c0', 'a/b/C', 'a/b/c_', 'a/bc/x', 'a/b-', 'a/a/x'];
    await Promise.all(names.map((name, index) => store.put(key(name), Buffer.from(name), { contentType: `text/x-${index}` })));

    const listed = await collect(store.list(key('a/b/')));

    const expected = ['a/b/C', 'a/b/c-d', 'a/b/c.d', 'a/b/c/d', 'a/b/c0', 'a/b/c_', 'a/b/z'].map(key);
    t.deepEqual(
      listed.map((info) => info.key),
      expected,
    );
    t.deepEqual(listed, await Promise.all(expected.map(async (each) => store.stat(each))));
    t.deepEqual(await collect(store.list(key('a/c/'))), []);
    t.deepEqual(await collect(store.list(`${key('')}${randomUUID()}/`)), []);
  });

  test(`${name}: list matches a plain string prefix: "a/b" also yields "a/bc/…", "a/b/" does not`, async (t) => {
    const { store, key } = await open(t);
    for (const name of ['a/b/1', 'a/bc/1', 'a/bd', 'a/c/1']) {
      await store.put(key(name), Buffer.from(name), { contentType: 'text/plain' });
    }
    const keysUnder = async (prefix: string) => (await collect(store.list(prefix))).map((info) => info.key);

    t.deepEqual(await keysUnder(key('a/b')), ['a/b/1', 'a/bc/1', 'a/bd'].map(key));
    t.deepEqual(await keysUnder(key('a/b/')), [key('a/b/1')]);
    t.deepEqual(await keysUnder(key('a/bc')), [key('a/bc/1')]);
    t.deepEqual(await keysUnder(key('a/')), ['a/b/1', 'a/bc/1', 'a/bd', 'a/c/1'].map(key));
  });

  test(`${name}: a consumer can stop listing early`, async (t) => {
    const { store, key } = await open(t);
    await Promise.all(
      Array.from({ length: 12 }, (_, index) =>
        store.put(key(`many/${String(index).padStart(2, '0')}`), Buffer.from([index]), { contentType: 'text/plain' }),
      ),
    );
    const seen: string[] = [];
    for await (const info of store.list(key('many/'))) {
      seen.push(info.key);
      if (seen.length === 2) break;
    }
    t.deepEqual(seen, [key('many/00'), key('many/01')]);
  });

  test(`${name}: keys that look like the store's own files, or hidden ones, are ordinary blobs`, async (t) => {
    const { store, key } = await open(t);
    const names = ['.meta/x', '.meta/x.json', '..x', 'x', 'x.json', 'y/meta.json', 'y/.tmp', 'x.tmp', '_', '-', '.'.repeat(3)];
    for (const name of names) await store.put(key(name), Buffer.from(name), { contentType: 'text/plain' });

    for (const name of names) t.is((await store.get(key(name))).toString(), name, name);
    t.deepEqual(
      (await collect(store.list(key('')))).map((info) => info.key),
      names.map(key).sort(),
    );
  });

  test(`${name}: the longest keys work: 1024 characters, in segments of 200`, async (t) => {
    const { store, key } = await open(t);
    const base = key('');
    const rest = 1024 - base.length;
    const longest =
      base +
      Array.from({ length: Math.ceil(rest / 201) }, () => 'k'.repeat(200))
        .join('/')
        .slice(0, rest);
    t.is(longest.length, 1024);

    await store.put(longest, Buffer.from('long'), { contentType: 'text/plain' });
    t.is((await store.get(longest)).toString(), 'long');
    t.deepEqual(
      (await collect(store.list(base))).map((info) => info.key),
      [longest],
    );
  });

  test(`${name}: readers see one whole blob or the other while a key is being replaced`, async (t) => {
    const { store, key } = await open(t);
    const blobs = await Promise.all([readFixture('flowers.jpeg'), readFixture('with-alpha.png')]);
    const hashes = new Set(blobs.map(sha256));
    await store.put(key('busy'), blobs[0], { contentType: 'image/jpeg' });

    let writing = true;
    const writer = (async () => {
      for (let round = 0; round < 20; round++) {
        await store.put(key('busy'), round % 2 === 0 ? blobs[1] : blobs[0], { contentType: 'image/x-any' });
      }
      writing = false;
    })();
    const reads: string[] = [];
    const reader = async () => {
      while (writing) {
        reads.push(sha256(await store.get(key('busy'))));
        reads.push(sha256(await buffer(await store.getStream(key('busy')))));
        reads.push((await store.stat(key('busy')))?.sha256 ?? 'missing');
      }
    };
    await Promise.all([writer, reader(), reader()]);

    t.true(reads.length > 0);
    t.deepEqual(
      reads.filter((read) => !hashes.has(read)),
      [],
    );
  });

  test(`${name}: invalid keys and prefixes are refused with InvalidBlobKeyError before storage is touched`, async (t) => {
    const store = await openUnusable(t);
    // The storage really is unusable: what the store answers for an invalid key, it answered without it.
    const failure = await t.throwsAsync(store.stat('valid/key'));
    t.false(failure instanceof InvalidBlobKeyError);

    for (const invalid of INVALID_KEYS) {
      for (const [operation, call] of Object.entries(invalidKeyOperations(store, invalid, 'valid/key'))) {
        await t.throwsAsync(call, { instanceOf: InvalidBlobKeyError }, `${operation} ${JSON.stringify(invalid)}`);
      }
    }
    for (const prefix of INVALID_PREFIXES) {
      await t.throwsAsync(async () => collect(store.list(prefix)), { instanceOf: InvalidBlobKeyError }, `list ${JSON.stringify(prefix)}`);
    }
  });

  test(`${name}: checkHealth passes on working storage and is a retriable DependencyUnavailableError otherwise`, async (t) => {
    const { store } = await open(t);
    await t.notThrowsAsync(store.checkHealth());
    const error = await t.throwsAsync((await openUnusable(t)).checkHealth(), { instanceOf: DependencyUnavailableError });
    t.true(error.retriable);
  });
}

/** Every call of a store on one blob. */
const blobOperations = (store: BlobStore) => ({
  put: () => store.put('k', Buffer.from('x'), { contentType: 'text/plain' }),
  get: () => store.get('k'),
  getStream: () => store.getStream('k'),
  stat: () => store.stat('k'),
  delete: () => store.delete('k'),
  move: () => store.move('k', 'l'),
});

test('minio: a server that does not answer is a retriable DependencyUnavailableError, on every operation', async (t) => {
  const store = await minioAdapter.openUnusable(t);
  const calls = { ...blobOperations(store), list: () => collect(store.list('')) };
  for (const [operation, call] of Object.entries(calls)) {
    const error = await t.throwsAsync(call, { instanceOf: DependencyUnavailableError }, operation);
    t.true(error.retriable, operation);
  }
});

test('minio: a server that stops answering fails every call with a retriable DependencyUnavailableError once its deadline passes', async (t) => {
  t.timeout(30_000, 'without a deadline of its own every call waits for ever');
  const { s3 } = await minioStore();
  const proxy = await startStallProxy(s3.endpoint.hostname, Number(s3.endpoint.port));
  t.teardown(() => proxy.close());
  const store = await createMinioBlobStore({ ...s3, endpoint: new URL(`http://${proxy.host}:${proxy.port}`), timeoutMs: 1000 });
  proxy.stall();
  const calls = {
    ...blobOperations(store),
    list: () => collect(store.list('')),
    checkHealth: () => store.checkHealth(),
  };
  for (const [operation, call] of Object.entries(calls)) {
    const error = await t.throwsAsync(call, { instanceOf: DependencyUnavailableError, message: /did not answer within/ }, operation);
    t.true(error.retriable, operation);
  }
});

test('folder: invalid keys create nothing, inside the root or outside it', async (t) => {
  const parent = await temporaryFolder(t);
  const root = join(parent, 'root');
  const store = await createFolderBlobStore(root);
  await store.put('valid/key', Buffer.from('kept'), { contentType: 'text/plain' });
  const before = await readdir(root, { recursive: true });

  for (const invalid of INVALID_KEYS) {
    for (const [operation, call] of Object.entries(invalidKeyOperations(store, invalid, 'valid/key'))) {
      await t.throwsAsync(call, { instanceOf: InvalidBlobKeyError }, `${operation} ${JSON.stringify(invalid)}`);
    }
  }

  t.deepEqual(await readdir(parent), ['root']);
  t.deepEqual(await readdir(root, { recursive: true }), before);
  t.is((await store.get('valid/key')).toString(), 'kept');
});

test('folder: a blob survives a new store on the same folder, as after a restart', async (t) => {
  const root = await temporaryFolder(t);
  const image = await readFixture('320x240.jpg');
  const put = await (await createFolderBlobStore(root)).put('images/1/original', image, { contentType: 'image/jpeg' });

  const reopened = await createFolderBlobStore(root);
  t.deepEqual(await reopened.stat('images/1/original'), put);
  t.true((await reopened.get('images/1/original')).equals(image));
});

test('folder: a put that was never committed leaves no blob behind', async (t) => {
  const root = await temporaryFolder(t);
  const store = await createFolderBlobStore(root);
  await store.put('images/1/original', Buffer.from('committed'), { contentType: 'text/plain' });
  // What a crash in the middle of a put leaves: a data file and a metadata file not yet renamed into place.
  await writeFile(join(root, 'images/1/original@data-00000000-0000-4000-8000-000000000000'), 'half a bl');
  await writeFile(join(root, 'images/1/original@tmp-00000000-0000-4000-8000-000000000001'), '{"vers');
  await writeFile(join(root, 'images/1/other@data-00000000-0000-4000-8000-000000000002'), 'half a bl');

  t.is((await store.get('images/1/original')).toString(), 'committed');
  t.is(await store.stat('images/1/other'), null);
  t.deepEqual(
    (await collect(store.list(''))).map((info: BlobInfo) => info.key),
    ['images/1/original'],
  );
});
