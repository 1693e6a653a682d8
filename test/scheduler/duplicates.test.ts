import { randomBytes } from 'node:crypto';
import test from 'ava';
import sharp from 'sharp';
import { createMongoCatalogStore } from '../../lib/adapters/mongo-catalog-store.ts';
import { createLogger } from '../../lib/logger.ts';
import type { BlobStore } from '../../lib/ports/blob-store.ts';
import { openCatalogImages } from '../../scheduler/catalog-images.ts';
import { duplicatesJob } from '../../scheduler/jobs/duplicates.ts';
import { madeBlobsStored, request, uploadAccepted, waitForFinalStatus } from '../support/api.ts';
import { runJob } from '../support/admin-jobs.ts';
import { ADMIN_TOKEN, startJobsHost } from '../support/jobs-host.ts';
import type { RunningProgImage } from '../support/progimage.ts';

/** What each URL of an image serves, by path suffix. */
async function servedBytes(baseUrl: string, id: string, paths: readonly string[]): Promise<string[]> {
  return Promise.all(
    paths.map(async (path) => {
      const reply = await request(`${baseUrl}/v1/images/${id}${path}`);
      if (reply.status !== 200) throw new Error(`${id}${path} answered ${reply.status}`);
      return reply.bytes.toString('base64');
    }),
  );
}

async function ownBlobs(progimage: RunningProgImage, id: string): Promise<string[]> {
  const keys: string[] = [];
  for (const prefix of [`originals/default/${id}`, `derived/default/${id}/`]) {
    for await (const blob of progimage.blobs.list(prefix)) keys.push(blob.key);
  }
  return keys;
}

/** The blob store with a crash in the middle of the first deletion: the run stops there. */
function crashingOnFirstDelete(blobs: BlobStore): BlobStore {
  let crashed = false;
  return new Proxy(blobs, {
    get(target, property, receiver) {
      if (property === 'delete' && !crashed) {
        return () => {
          crashed = true;
          return Promise.reject(new Error('the scheduler was killed'));
        };
      }
      const value: unknown = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

test('images with equal originals end up on one set of blobs, every id serving the same bytes, even across an interrupted run', async (t) => {
  t.timeout(300_000);
  const { progimage, servers, deployment } = await startJobsHost(t, 'duplicates');
  const store = await createMongoCatalogStore({ ...servers.mongo, database: deployment.database });
  t.teardown(() => store.close());
  const { baseUrl } = progimage;

  const bytes = await sharp(randomBytes(40 * 30 * 3), { raw: { width: 40, height: 30, channels: 3 } })
    .png()
    .toBuffer();
  const ids: string[] = [];
  for (let copy = 0; copy < 3; copy += 1) ids.push(await uploadAccepted(baseUrl, bytes, 'image/png'));
  const other = await uploadAccepted(baseUrl, await sharp(bytes).negate().png().toBuffer(), 'image/png');
  const paths = ['.png', '.webp'];
  for (const id of [...ids, other]) {
    const image = await waitForFinalStatus(baseUrl, id);
    t.is(image.status, 'ready');
    paths.push(...image.variants.map((variant) => variant.url.slice(variant.url.indexOf('/variants/'))));
  }
  const variantPaths = [...new Set(paths)];
  const expected = await servedBytes(baseUrl, ids[0] ?? '', variantPaths);
  const servesExpected = async (label: string) => {
    for (const id of ids) t.deepEqual(await servedBytes(baseUrl, id, variantPaths), expected, `${label}: ${id}`);
  };
  await servesExpected('before');
  await madeBlobsStored(baseUrl);

  // A run killed at its first deletion: repointed, nothing lost.
  const interrupted = duplicatesJob({
    images: await openCatalogImages(store),
    blobs: crashingOnFirstDelete(progimage.blobs),
    bus: progimage.bus,
    schedule: null,
  });
  await t.throwsAsync(
    interrupted.run({ log: createLogger('test', 'silent'), signal: new AbortController().signal, count: () => undefined }),
    { message: 'the scheduler was killed' },
  );
  await servesExpected('after the interrupted run');

  const run = await runJob(baseUrl, ADMIN_TOKEN, 'duplicates');
  t.is(run.outcome, 'succeeded', run.error);
  t.is(run.counts.repointed ?? 0, 0, 'the interrupted run had repointed them');
  t.true((run.counts.blobsDeleted ?? 0) > 0);
  await servesExpected('after the rerun');
  const owners = [];
  for (const id of ids) if ((await ownBlobs(progimage, id)).length > 0) owners.push(id);
  t.is(owners.length, 1, 'one image keeps its blobs');
  t.true((await ownBlobs(progimage, other)).length > 0, 'an image with other bytes keeps its own');

  const again = await runJob(baseUrl, ADMIN_TOKEN, 'duplicates');
  t.like(again.counts, { repointed: undefined, blobsDeleted: 0 });

  // Deleting the image the others are served from keeps what they need.
  const [owner] = owners;
  t.is((await request(`${baseUrl}/v1/images/${owner ?? ''}`, { method: 'DELETE' })).status, 204);
  const remaining = ids.filter((id) => id !== owner);
  for (const id of remaining) t.deepEqual(await servedBytes(baseUrl, id, variantPaths), expected, `after deleting ${owner ?? ''}: ${id}`);
});
