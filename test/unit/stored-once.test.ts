import test from 'ava';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { BlobCache } from '../../catalog/blob-cache.ts';
import { StoredOnce, type BlobOwner } from '../../catalog/stored-once.ts';
import { FolderBlobStore } from '../../lib/adapters/folder-blob-store.ts';
import { HttpError } from '../../lib/http/errors.ts';
import type { BlobStore, PutOptions } from '../../lib/ports/blob-store.ts';
import { readFixture } from '../support/fixtures.ts';
import { parsePrometheusText, sampleSum } from '../support/prometheus.ts';

/** Its master was compressed long before any blob is made from it. */
const OWNER: BlobOwner = {
  tenant: 'default',
  imageId: '00000000-0000-4000-8000-000000000001',
  lastModified: new Date('2026-01-02T03:04:05Z'),
};
const OTHER: BlobOwner = { ...OWNER, imageId: '00000000-0000-4000-8000-000000000002' };
const KEY = `derived/default/${OWNER.imageId}/transforms/abc.webp`;

/** A folder store whose put of a key waits until `open(key)`, or fails when told to. */
class GatedStore extends FolderBlobStore {
  puts = 0;
  failPuts = false;
  readonly #gates = new Map<string, { readonly opened: Promise<void>; readonly open: () => void }>();

  open(key = KEY): void {
    this.#gate(key).open();
  }

  override async put(key: string, body: Buffer, options: PutOptions) {
    this.puts += 1;
    await this.#gate(key).opened;
    if (this.failPuts) throw new Error('the disk is full');
    return super.put(key, body, options);
  }

  #gate(key: string) {
    let gate = this.#gates.get(key);
    if (gate === undefined) {
      let open = (): void => undefined;
      const opened = new Promise<void>((resolve) => {
        open = resolve;
      });
      gate = { opened, open };
      this.#gates.set(key, gate);
    }
    return gate;
  }
}

interface Harness {
  readonly blobs: GatedStore;
  readonly stored: StoredOnce;
  readonly live: Set<string>;
  readonly made: () => number;
  readonly make: () => Promise<{ data: Buffer; contentType: string }>;
  readonly storing: () => Promise<number>;
  readonly warnings: string[];
}

/** Nothing is kept in the blob cache (its per-blob limit is 0): what is served meanwhile comes from the blobs being stored. */
async function harness(t: { teardown: (fn: () => Promise<void>) => void }): Promise<Harness> {
  const root = await mkdtemp(join(tmpdir(), 'stored-once-'));
  t.teardown(() => rm(root, { recursive: true, force: true }));
  const blobs = new GatedStore(root);
  const live = new Set<string>([OWNER.imageId, OTHER.imageId]);
  const metrics = new Registry();
  const warnings: string[] = [];
  const log = pino({ level: 'warn' }, { write: (line: string) => warnings.push(line) });
  const stored = new StoredOnce({
    blobs,
    cache: new BlobCache(1024 * 1024, 0),
    isLive: ({ imageId }) => Promise.resolve(live.has(imageId)),
    log,
    metrics,
  });
  const data = await readFixture('320x240.jpg');
  let made = 0;
  return {
    blobs,
    stored,
    live,
    warnings,
    made: () => made,
    make: () => {
      made += 1;
      return Promise.resolve({ data, contentType: 'image/jpeg' });
    },
    storing: async () => sampleSum(parsePrometheusText(await metrics.metrics()), 'progimage_made_blobs_storing'),
  };
}

const storedSha = async (blobs: BlobStore, key = KEY) => (await blobs.stat(key))?.sha256 ?? null;

test('a made blob is answered before it is stored; meanwhile it is served from memory, made once; then it is in the store', async (t) => {
  const { blobs, stored, made, make, storing } = await harness(t);
  const answered = await stored.get(KEY, OWNER, make);
  t.truthy(answered.data, 'answered with its bytes');
  t.is(await storedSha(blobs), null, 'not in the store yet: its put waits');
  t.is(await storing(), 1);
  const meanwhile = await stored.get(KEY, OWNER, make);
  t.is(meanwhile.data, answered.data, 'the same bytes, from memory');
  t.is(made(), 1);
  blobs.open();
  await stored.settled();
  t.is(await storedSha(blobs), answered.info.sha256, 'stored, under the sha256 it was answered with (its ETag)');
  t.is(await storing(), 0);
  const afterwards = await stored.get(KEY, OWNER, make);
  t.is(afterwards.info.sha256, answered.info.sha256, 'afterwards, read from the store');
  t.is(made(), 1);
  t.deepEqual(
    [answered.info.lastModified, afterwards.info.lastModified],
    [OWNER.lastModified, OWNER.lastModified],
    "one representation: made or read back, it has the image's Last-Modified, not the put's time",
  );
});

test('an image deleted through this process while its blob is made: the request is answered 404 and nothing is stored', async (t) => {
  const { blobs, stored, live, make } = await harness(t);
  blobs.open();
  let makingStarted = (): void => undefined;
  const started = new Promise<void>((resolve) => {
    makingStarted = resolve;
  });
  let finishMaking = (): void => undefined;
  const finished = new Promise<void>((resolve) => {
    finishMaking = resolve;
  });
  const request = stored.get(KEY, OWNER, async () => {
    makingStarted();
    await finished;
    return make();
  });
  const otherKey = `derived/default/${OTHER.imageId}/transforms/abc.webp`;
  blobs.open(otherKey);
  const other = stored.get(otherKey, OTHER, make);
  await started;
  live.delete(OWNER.imageId); // the DELETE marks the image, then has this process forget it
  await stored.forgetImage(OWNER.imageId);
  finishMaking();
  const error = await t.throwsAsync(request, { instanceOf: HttpError });
  t.is(error.status, 404);
  t.truthy((await other).data, "another image's blob is answered");
  await stored.settled();
  t.is(blobs.puts, 1, "only the other image's blob is stored");
  t.is(await storedSha(blobs), null);
});

test('an image deleted through another process while its blob is made: the request is answered, and the blob goes once stored', async (t) => {
  const { blobs, stored, live, make } = await harness(t);
  blobs.open();
  live.delete(OWNER.imageId);
  t.truthy((await stored.get(KEY, OWNER, make)).data, 'it had found the image live: the two ran at the same time');
  await stored.settled();
  t.is(blobs.puts, 1);
  t.is(await storedSha(blobs), null, 'no blob outlives its image');
});

test('an image deleted after the answer, before its put ended: the blob is deleted once stored', async (t) => {
  const { blobs, stored, live, make } = await harness(t);
  await stored.get(KEY, OWNER, make);
  live.delete(OWNER.imageId);
  blobs.open();
  await stored.settled(OWNER.imageId);
  t.is(blobs.puts, 1);
  t.is(await storedSha(blobs), null, 'no blob outlives its image');
});

test('a put that fails is logged, and the next request that misses the blob makes it again', async (t) => {
  const { blobs, stored, made, make, storing, warnings } = await harness(t);
  blobs.failPuts = true;
  await stored.get(KEY, OWNER, make);
  blobs.open();
  await stored.settled();
  t.is(await storing(), 0);
  t.is(await storedSha(blobs), null);
  t.true(
    warnings.some((line) => line.includes('storing a made blob failed') && line.includes(KEY)),
    warnings.join(''),
  );
  blobs.failPuts = false;
  await stored.get(KEY, OWNER, make);
  t.is(made(), 2);
  await stored.settled();
  t.not(await storedSha(blobs), null);
});

test("settled(imageId) waits for that image's puts only", async (t) => {
  const { blobs, stored, make, storing } = await harness(t);
  const otherKey = `derived/default/${OTHER.imageId}/transforms/abc.webp`;
  await stored.get(KEY, OWNER, make);
  await stored.get(otherKey, OTHER, make);
  t.is(await storing(), 2);
  blobs.open(otherKey);
  await stored.settled(OTHER.imageId);
  t.not(await storedSha(blobs, otherKey), null);
  t.is(await storing(), 1, "the other image's put still waits");
  t.is(await storedSha(blobs), null);
  blobs.open();
  await stored.settled();
  t.not(await storedSha(blobs), null);
});
