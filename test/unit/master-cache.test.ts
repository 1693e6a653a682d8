import test from 'ava';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { MasterCache, type MasterCacheLimits } from '../../catalog/master-cache.ts';
import { FolderBlobStore } from '../../lib/adapters/folder-blob-store.ts';
import { readFixture } from '../support/fixtures.ts';
import { parsePrometheusText, sampleSum } from '../support/prometheus.ts';

const MASTER = 'masters/default/00000000-0000-4000-8000-000000000001';
const OTHER = 'masters/default/00000000-0000-4000-8000-000000000002';

/** A folder store that counts its reads, and fails them while told to. */
class CountingStore extends FolderBlobStore {
  gets = 0;
  failGets = false;

  override async get(key: string): Promise<Buffer> {
    this.gets += 1;
    if (this.failGets) throw new Error('the store is unreachable');
    return super.get(key);
  }
}

async function harness(t: { teardown: (fn: () => Promise<void>) => void }, limits: MasterCacheLimits) {
  const root = await mkdtemp(join(tmpdir(), 'master-cache-'));
  t.teardown(() => rm(root, { recursive: true, force: true }));
  const blobs = new CountingStore(root);
  const metrics = new Registry();
  const masters = new MasterCache(blobs, limits, metrics);
  const readsFrom = async (from: 'memory' | 'store') =>
    sampleSum(parsePrometheusText(await metrics.metrics()), 'progimage_master_reads_total', { from });
  return { blobs, masters, readsFrom };
}

const ROOMY: MasterCacheLimits = { maxBytes: 8 * 1024 * 1024, maxMasterBytes: 4 * 1024 * 1024 };

test('misses of one image arriving together share one read of its master; later ones read it from memory', async (t) => {
  const { blobs, masters, readsFrom } = await harness(t, ROOMY);
  const master = await readFixture('2569067123_aca715a2ee_o.jpg');
  await blobs.put(MASTER, master, { contentType: 'image/jpeg' });
  const together = await Promise.all([masters.read(MASTER), masters.read(MASTER), masters.read(MASTER)]);
  for (const data of together) t.true(data.equals(master));
  t.is(blobs.gets, 1);
  t.true((await masters.read(MASTER)).equals(master));
  t.is(blobs.gets, 1, 'held');
  t.is(await readsFrom('store'), 1);
  t.is(await readsFrom('memory'), 3);
});

test('a master over the per-master limit is read from the store every time', async (t) => {
  const { blobs, masters } = await harness(t, { maxBytes: 8 * 1024 * 1024, maxMasterBytes: 100 * 1024 });
  await blobs.put(MASTER, await readFixture('2569067123_aca715a2ee_o.jpg'), { contentType: 'image/jpeg' });
  await masters.read(MASTER);
  await masters.read(MASTER);
  t.is(blobs.gets, 2);
});

test('the least recently read master leaves first once the cache is full', async (t) => {
  const master = await readFixture('2569067123_aca715a2ee_o.jpg');
  const { blobs, masters } = await harness(t, { maxBytes: master.length + 1024, maxMasterBytes: master.length });
  await blobs.put(MASTER, master, { contentType: 'image/jpeg' });
  await blobs.put(OTHER, master, { contentType: 'image/jpeg' });
  await masters.read(MASTER);
  await masters.read(OTHER);
  await masters.read(OTHER);
  t.is(blobs.gets, 2, 'the second master is held');
  await masters.read(MASTER);
  t.is(blobs.gets, 3, 'the first one had left to make room for it');
});

test('a read that failed is not held: the next one reads the store again', async (t) => {
  const { blobs, masters } = await harness(t, ROOMY);
  const master = await readFixture('320x240.jpg');
  await blobs.put(MASTER, master, { contentType: 'image/jpeg' });
  blobs.failGets = true;
  await t.throwsAsync(masters.read(MASTER), { message: 'the store is unreachable' });
  blobs.failGets = false;
  t.true((await masters.read(MASTER)).equals(master));
  t.is(blobs.gets, 2);
});
