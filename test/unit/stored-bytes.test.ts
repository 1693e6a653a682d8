import test, { type ExecutionContext } from 'ava';
import { openUsageCollection, StoredBytes, type UsageCollection } from '../../lib/auth/stored-bytes.ts';
import { countingCalls, temporaryCatalogStore } from '../support/counted-calls.ts';

const tenant = 'acme';

/** The tenant_usage collection of an embedded catalog store of the test's own, its reads counted. */
async function countedUsage(t: ExecutionContext): Promise<{ usage: UsageCollection; reads: () => number }> {
  const { collection, calls } = countingCalls(await openUsageCollection(await temporaryCatalogStore(t)));
  return { usage: collection, reads: () => calls.get };
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
