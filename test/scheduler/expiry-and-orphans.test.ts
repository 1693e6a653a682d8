import { randomBytes, randomUUID } from 'node:crypto';
import test, { type ExecutionContext } from 'ava';
import sharp from 'sharp';
import { z } from 'zod';
import { createS3Client } from '../../lib/s3/client.ts';
import { waitUntil } from '../../lib/wait.ts';
import { imageSchema, json, request, waitForFinalStatus } from '../support/api.ts';
import { runJob } from '../support/admin-jobs.ts';
import { ADMIN_TOKEN, startJobsHost } from '../support/jobs-host.ts';
import type { RunningProgImage } from '../support/progimage.ts';

const GRACE_SECONDS = 2;

/** A bucket of its own: the orphans job sweeps the whole bucket, and the shared one holds other deployments' images. */
async function startWithOwnBucket(t: ExecutionContext): Promise<RunningProgImage> {
  const bucket = `sweep-${randomUUID().slice(0, 12)}`;
  const extra = { PROGIMAGE_S3_BUCKET: bucket, PROGIMAGE_ORPHAN_GRACE_SECONDS: String(GRACE_SECONDS) };
  const { progimage } = await startJobsHost(t, 'sweep', extra, async ({ progimage: { blobs }, servers }) => {
    for await (const blob of blobs.list('')) await blobs.delete(blob.key);
    await createS3Client({ ...servers.s3, bucket }).removeBucket(bucket);
  });
  return progimage;
}

const noise = () =>
  sharp(randomBytes(48 * 32 * 3), { raw: { width: 48, height: 32, channels: 3 } })
    .png()
    .toBuffer();

async function blobKeysOf(progimage: RunningProgImage, id: string): Promise<string[]> {
  const keys: string[] = [];
  for (const prefix of [`originals/default/${id}`, `derived/default/${id}/`, `quarantine/default/${id}`]) {
    for await (const blob of progimage.blobs.list(prefix)) keys.push(blob.key);
  }
  return keys;
}

async function uploadReady(baseUrl: string, headers: Record<string, string>, query = ''): Promise<string> {
  const reply = await request(`${baseUrl}/v1/images${query}`, {
    method: 'POST',
    body: await noise(),
    headers: { 'Content-Type': 'image/png', ...headers },
  });
  if (reply.status !== 202) throw new Error(`upload answered ${reply.status}: ${reply.bytes.toString('utf8')}`);
  const { id } = imageSchema.pick({ id: true }).parse(json(reply));
  const image = await waitForFinalStatus(baseUrl, id);
  if (image.status !== 'ready') throw new Error(`image ${id} ended ${image.status}`);
  return id;
}

test('an image past its time to live is deleted with every blob derived from it; one within it stays', async (t) => {
  t.timeout(300_000);
  const progimage = await startWithOwnBucket(t);
  const { baseUrl } = progimage;
  const shortLived = await uploadReady(baseUrl, {}, '?ttl=1');
  const longLived = await uploadReady(baseUrl, { 'X-ProgImage-TTL': '3600' });
  const { expiresAt } = z.object({ expiresAt: z.iso.datetime() }).parse(json(await request(`${baseUrl}/v1/images/${shortLived}`)));
  t.true((await blobKeysOf(progimage, shortLived)).length > 3, 'original, master and variants are stored');
  await waitUntil(() => Date.now() > Date.parse(expiresAt), { timeoutMs: 5000, intervalMs: 50, description: 'the ttl to pass' });

  const run = await runJob(baseUrl, ADMIN_TOKEN, 'expiry');
  t.is(run.outcome, 'succeeded', run.error);
  t.is(run.counts.expired, 1);
  // The catalog marks it deleted (404 at once), then deletes its blobs.
  await waitUntil(
    async () =>
      (await request(`${baseUrl}/v1/images/${shortLived}`)).status === 404 && (await blobKeysOf(progimage, shortLived)).length === 0,
    { timeoutMs: 60_000, intervalMs: 100, description: `image ${shortLived} and its blobs to be deleted` },
  );
  t.is((await request(`${baseUrl}/v1/images/${longLived}.webp`)).status, 200);
  t.true((await blobKeysOf(progimage, longLived)).length > 3);
});

test('a blob without a catalog entry is swept once older than the grace period; the blobs of known images stay', async (t) => {
  t.timeout(300_000);
  const progimage = await startWithOwnBucket(t);
  const { baseUrl } = progimage;
  const known = await uploadReady(baseUrl, {});
  const knownBlobs = await blobKeysOf(progimage, known);
  const orphanId = randomUUID();
  const orphanKeys = [`originals/default/${orphanId}`, `derived/default/${orphanId}/master.png`];
  for (const key of orphanKeys) await progimage.blobs.put(key, await noise(), { contentType: 'image/png' });

  const tooYoung = await runJob(baseUrl, ADMIN_TOKEN, 'orphans');
  t.is(tooYoung.counts.deleted ?? 0, 0, 'an upload in flight is younger than the grace period');
  t.deepEqual(await blobKeysOf(progimage, orphanId), orphanKeys);

  const written = Math.max(
    ...(await Promise.all(orphanKeys.map(async (key) => (await progimage.blobs.stat(key))?.lastModified.getTime() ?? 0))),
  );
  await waitUntil(() => Date.now() > written + GRACE_SECONDS * 1000 + 1000, {
    timeoutMs: 10_000,
    intervalMs: 100,
    description: 'the grace period to pass',
  });
  const swept = await runJob(baseUrl, ADMIN_TOKEN, 'orphans');
  t.is(swept.outcome, 'succeeded', swept.error);
  t.is(swept.counts.deleted, 2);
  t.deepEqual(await blobKeysOf(progimage, orphanId), []);
  t.deepEqual(await blobKeysOf(progimage, known), knownBlobs);
  t.is((await request(`${baseUrl}/v1/images/${known}.png`)).status, 200);
});
