import test from 'ava';
import { LivenessChecks } from '../../catalog/liveness-checks.ts';
import { waitUntil } from '../../lib/wait.ts';

const WINDOW_MS = 20;
const ownerOf = (imageId: string) => ({ tenant: 'acme', imageId, lastModified: new Date(0) });

/** A record store whose reads are listed, each answered when the test says (or at once, with `live`). */
function readsOf(live: ReadonlySet<string>) {
  const reads: string[] = [];
  let hold: Promise<void> = Promise.resolve();
  return {
    reads,
    holdReads(until: Promise<void>) {
      hold = until;
    },
    read: async (imageId: string) => {
      reads.push(imageId);
      await hold;
      return live.has(imageId);
    },
  };
}

test('blobs of one image stored within the window share one read of its record', async (t) => {
  const store = readsOf(new Set(['a']));
  const checks = new LivenessChecks(store.read, WINDOW_MS);
  const answers = await Promise.all([checks.isLive(ownerOf('a')), checks.isLive(ownerOf('a')), checks.isLive(ownerOf('a'))]);
  t.deepEqual(answers, [true, true, true]);
  t.deepEqual(store.reads, ['a']);
});

test('a blob stored once the read began gets a read of its own, begun after it', async (t) => {
  const store = readsOf(new Set());
  let release = (): void => undefined;
  store.holdReads(new Promise((resolve) => (release = resolve)));
  const checks = new LivenessChecks(store.read, WINDOW_MS);
  const first = checks.isLive(ownerOf('a'));
  await waitUntil(() => store.reads.length === 1, { timeoutMs: 5000, intervalMs: 1, description: 'the first read' });
  const second = checks.isLive(ownerOf('a'));
  release();
  t.deepEqual(await Promise.all([first, second]), [false, false]);
  t.deepEqual(store.reads, ['a', 'a']);
});

test('each image is read for its own', async (t) => {
  const store = readsOf(new Set(['a']));
  const checks = new LivenessChecks(store.read, WINDOW_MS);
  t.deepEqual(await Promise.all([checks.isLive(ownerOf('a')), checks.isLive(ownerOf('b'))]), [true, false]);
  t.deepEqual(store.reads.sort(), ['a', 'b']);
});
