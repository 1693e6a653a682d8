import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { createEmbeddedCatalogStore } from '../../lib/adapters/embedded-catalog-store.ts';
import { openUsageCollection, StoredBytes, type UsageCollection } from '../../lib/auth/stored-bytes.ts';

const tenant = 'acme';

/** The tenant_usage collection of an embedded catalog store in a folder of the test's own, its reads counted. */
async function countedUsage(t: ExecutionContext): Promise<{ usage: UsageCollection; reads: () => number }> {
  const dataDir = await mkdtemp(join(tmpdir(), 'progimage-stored-bytes-'));
  t.teardown(() => rm(dataDir, { recursive: true, force: true }));
  const store = await createEmbeddedCatalogStore(dataDir);
  t.teardown(() => store.close());
  const stored = await openUsageCollection(store);
  let reads = 0;
  const usage: UsageCollection = {
    ...stored,
    get: (id) => {
      reads += 1;
      return stored.get(id);
    },
    save: (document, expectedVersion) => stored.save(document, expectedVersion),
  };
  return { usage, reads: () => reads };
}

test('a tenant whose count this process saved last is counted on without reading it again', async (t) => {
  const { usage, reads } = await countedUsage(t);
  const storedBytes = new StoredBytes(usage);
  await storedBytes.add(tenant, 1000);
  const first = reads();
  await storedBytes.add(tenant, 500);
  await storedBytes.add(tenant, -200);
  t.is(reads(), first, 'no read after the first save');
  t.is((await usage.get(tenant))?.document.storedBytes, 1300);
});

test('a count another writer saved meanwhile is read again, and both additions are kept', async (t) => {
  const { usage, reads } = await countedUsage(t);
  const here = new StoredBytes(usage);
  const elsewhere = new StoredBytes(usage);
  await here.add(tenant, 1000);
  await elsewhere.add(tenant, 400);
  const before = reads();

  await here.add(tenant, 100);
  t.is(reads(), before + 1, 'its compare-and-set failed, so it read the count again');
  t.is((await usage.get(tenant))?.document.storedBytes, 1500);
});

test('additions at once for one tenant are all kept', async (t) => {
  const { usage } = await countedUsage(t);
  const storedBytes = new StoredBytes(usage);
  await storedBytes.add(tenant, 1);
  await Promise.all(Array.from({ length: 8 }, () => storedBytes.add(tenant, 10)));
  t.is((await usage.get(tenant))?.document.storedBytes, 81);
});
