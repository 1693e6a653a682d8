import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import sharp from 'sharp';
import { z } from 'zod';
import { clamdDatabaseDir } from '../../infra/local/servers/clamd.ts';
import { clamdCommand } from '../../lib/clamd/command.ts';
import { waitUntil } from '../../lib/wait.ts';
import { errorSchema, imageSchema, json, request, uploadAccepted, waitForFinalStatus } from '../support/api.ts';
import { runJob as runAdminJob } from '../support/admin-jobs.ts';
import { freePort } from '../../infra/local/supervisor.ts';
import { ADMIN_TOKEN, startJobsHost } from '../support/jobs-host.ts';

const runJob = (baseUrl: string, job: string) => runAdminJob(baseUrl, ADMIN_TOKEN, job);

/** Everything in clamd's database directory, to put back exactly as it was (freshclam writes its own state there too). */
async function snapshot(directory: string): Promise<Map<string, Buffer>> {
  const names = await readdir(directory);
  return new Map(await Promise.all(names.map(async (name) => [name, await readFile(join(directory, name))] as const)));
}

async function restore(directory: string, files: ReadonlyMap<string, Buffer>): Promise<void> {
  for (const name of await readdir(directory)) {
    const before = files.get(name);
    if (before === undefined) await rm(join(directory, name), { force: true });
    else if (!before.equals(await readFile(join(directory, name)))) await writeFile(join(directory, name), before);
  }
}

test('a signature that arrives after an image was found clean makes the re-scan quarantine it: 410, variants included', async (t) => {
  t.timeout(300_000);
  if (process.env.PROGIMAGE_CLAMD_HOST !== undefined) throw new Error("this test adds signatures to the local stack's clamd only");
  const unreachableMirror = `http://127.0.0.1:${await freePort()}`;
  const { progimage, servers } = await startJobsHost(t, 'rescan', {
    PROGIMAGE_FRESHCLAM_MIRROR: unreachableMirror,
    PROGIMAGE_CLAMAV_DATABASE_DIR: clamdDatabaseDir,
  });
  const databaseBefore = await snapshot(clamdDatabaseDir);
  // Teardowns run last first: the database is restored before the host stops.
  t.teardown(async () => {
    await restore(clamdDatabaseDir, databaseBefore);
    await clamdCommand(servers.scan.clamd, 'RELOAD');
  });
  const { baseUrl } = progimage;

  // Noise: bytes no other test uploads, so the new signature matches nothing but this image.
  const image = await sharp(randomBytes(64 * 48 * 3), { raw: { width: 64, height: 48, channels: 3 } })
    .png()
    .toBuffer();
  const id = await uploadAccepted(baseUrl, image, 'image/png');
  const ready = await waitForFinalStatus(baseUrl, id);
  t.is(ready.status, 'ready');
  t.is(ready.stages.scan.verdict, 'clean');
  const variant = ready.variants[0];
  if (variant === undefined) throw new Error('the image has variants');
  t.is((await request(`${baseUrl}${variant.url}`)).status, 200);

  // What a signature update brings: a hash signature (MD5:size:name) for exactly these bytes.
  const name = `ProgImage.Test.Rescan.${randomUUID().slice(0, 8)}`;
  const md5 = createHash('md5').update(image).digest('hex');
  await writeFile(join(clamdDatabaseDir, `progimage-rescan-${id}.hdb`), `${md5}:${image.length}:${name}\n`);

  const signatures = await runJob(baseUrl, 'signatures');
  t.is(signatures.outcome, 'failed', 'freshclam cannot reach its mirror');
  t.regex(signatures.error ?? '', /freshclam failed/);
  t.deepEqual(signatures.counts, { freshclamFailed: 1, versionChanged: 1 });
  const readiness = await request(`${baseUrl}/readyz`);
  t.is(readiness.status, 200, 'a failed update degrades, it does not take the service down');
  t.like(json(readiness), { status: 'degraded' });
  t.regex(
    z.object({ checks: z.object({ signatures: z.string() }) }).parse(json(readiness)).checks.signatures,
    /^degraded: signatures not updated: freshclam failed/,
  );

  const rescan = await runJob(baseUrl, 'rescan');
  t.is(rescan.outcome, 'succeeded', rescan.error);
  t.is(rescan.counts.requested, 1);

  const infected = await waitUntil(
    async () => {
      const current = imageSchema.parse(json(await request(`${baseUrl}/v1/images/${id}`)));
      return current.status === 'infected' ? current : false;
    },
    { timeoutMs: 120_000, intervalMs: 200, description: `image ${id} to be found infected on re-scan` },
  );
  t.deepEqual(infected.stages.scan.signatures, [`${name}.UNOFFICIAL`]);
  for (const path of [`/v1/images/${id}.png`, `/v1/images/${id}.webp`, variant.url, `/v1/images/${id}.jpg?w=10`]) {
    const reply = await request(`${baseUrl}${path}`);
    t.is(reply.status, 410, path);
    t.is(errorSchema.parse(json(reply)).error.code, 'infected', path);
  }
  t.is(await progimage.blobs.stat(`originals/default/${id}`), null, 'the original is in quarantine');
  t.not(await progimage.blobs.stat(`quarantine/default/${id}`), null);

  // Nothing changed since: a second re-scan asks for nothing.
  t.is((await runJob(baseUrl, 'rescan')).counts.requested ?? 0, 0);
});

// Serial: the other test adds a signature to the same database directory, which changes its version.
test.serial(
  'with PROGIMAGE_FRESHCLAM=off the signatures job leaves updates to another process: it only reloads clamd and records the version',
  async (t) => {
    t.timeout(120_000);
    const { progimage } = await startJobsHost(t, 'no-freshclam', {
      PROGIMAGE_FRESHCLAM: 'off',
      // Were freshclam run, it would fail on this mirror and fail the job.
      PROGIMAGE_FRESHCLAM_MIRROR: `http://127.0.0.1:${await freePort()}`,
      PROGIMAGE_CLAMAV_DATABASE_DIR: clamdDatabaseDir,
    });
    const signatures = await runJob(progimage.baseUrl, 'signatures');
    t.is(signatures.outcome, 'succeeded', signatures.error);
    t.deepEqual(signatures.counts, { versionChanged: 1 }, 'a first run records the version clamd loaded');
    const readiness = await request(`${progimage.baseUrl}/readyz`);
    t.is(readiness.status, 200);
    t.like(json(readiness), { status: 'ready', checks: { signatures: 'ok' } });
    t.deepEqual((await runJob(progimage.baseUrl, 'signatures')).counts, { versionChanged: 0 });
  },
);
