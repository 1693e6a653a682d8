import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import test, { type ExecutionContext } from 'ava';
import { z } from 'zod';
import { ADMIN_TOKEN_HEADER } from '../../lib/http/admin-token.ts';
import { anonymousRequest, bearer, errorSchema, json, request, TEST_API_KEY } from '../support/api.ts';
import { runJob, runSchema } from '../support/admin-jobs.ts';
import { startProgImage } from '../support/progimage.ts';

const ADMIN_TOKEN = `test-admin-${randomUUID()}`;

/** ProgImage on the embedded adapters in a data directory of its own: the admin API does not depend on the servers. */
async function embedded(t: ExecutionContext, env: Record<string, string> = {}) {
  const dataDir = await mkdtemp(join(tmpdir(), 'progimage-admin-'));
  const progimage = await startProgImage({ PROGIMAGE_DATA_DIR: dataDir, ...env });
  t.teardown(async () => {
    await progimage.stop();
    await rm(dataDir, { recursive: true, force: true });
  });
  return { ...progimage, dataDir };
}

const jobsSchema = z.object({
  jobs: z.array(
    z.object({ name: z.string(), schedule: z.string().nullable(), nextRun: z.string().nullable(), lastRun: runSchema.nullable() }),
  ),
});

test('the admin API lists the jobs with their schedules and last runs, and runs one on demand', async (t) => {
  const { baseUrl } = await embedded(t, { PROGIMAGE_ADMIN_TOKEN: ADMIN_TOKEN, PROGIMAGE_SCHEDULE_RESCAN: '0 4 * * *' });
  const headers = { [ADMIN_TOKEN_HEADER]: ADMIN_TOKEN };
  const before = jobsSchema.parse(json(await request(`${baseUrl}/v1/admin/jobs`, { headers })));
  t.deepEqual(
    before.jobs.map((job) => [job.name, job.schedule, job.lastRun?.seq ?? null]),
    [
      ['signatures', null, null],
      ['rescan', '0 4 * * *', null],
      ['expiry', '*/10 * * * *', null],
      ['orphans', null, null],
      ['duplicates', '15 4 * * *', null],
      ['image-id-claims', null, 1],
    ],
    'image-id-claims ran when the scheduler started',
  );
  t.truthy(before.jobs.find((job) => job.name === 'rescan')?.nextRun);
  t.is(before.jobs.find((job) => job.name === 'signatures')?.nextRun, null);

  const run = await runJob(baseUrl, ADMIN_TOKEN, 'orphans');
  t.like(run, { seq: 1, outcome: 'succeeded' });
  const after = jobsSchema.parse(json(await request(`${baseUrl}/v1/admin/jobs`, { headers })));
  t.like(after.jobs.find((job) => job.name === 'orphans')?.lastRun, { seq: 1, outcome: 'succeeded' });
  const runs = z.object({ runs: z.array(runSchema) }).parse(json(await request(`${baseUrl}/v1/admin/jobs/orphans/runs`, { headers })));
  t.deepEqual(
    runs.runs.map((one) => one.seq),
    [1],
  );

  const unknown = await request(`${baseUrl}/v1/admin/jobs/nightly-backup/runs`, { method: 'POST', headers });
  t.is(unknown.status, 404);
  t.is((await request(`${baseUrl}/v1/admin/jobs/orphans/runs/7`, { headers })).status, 404);
});

test('the admin API wants its token, which alone admits, and a tenant key alone does not; it is off without one', async (t) => {
  const { baseUrl } = await embedded(t, { PROGIMAGE_ADMIN_TOKEN: ADMIN_TOKEN });
  const refusals: [string, Record<string, string>, string][] = [
    ['no credentials', {}, 'admin_token_required'],
    ['the tenant key alone', bearer(TEST_API_KEY), 'admin_token_invalid'],
    ['a wrong token', { [ADMIN_TOKEN_HEADER]: 'wrong-token-of-some-length' }, 'admin_token_invalid'],
    ['"Bearer" in the token header', { [ADMIN_TOKEN_HEADER]: `Bearer ${ADMIN_TOKEN}` }, 'admin_token_invalid'],
  ];
  for (const [what, headers, code] of refusals) {
    const reply = await anonymousRequest(`${baseUrl}/v1/admin/jobs/orphans/runs`, { method: 'POST', headers });
    t.is(reply.status, 401, what);
    t.is(errorSchema.parse(json(reply)).error.code, code, what);
  }
  for (const headers of [{ [ADMIN_TOKEN_HEADER]: ADMIN_TOKEN }, bearer(ADMIN_TOKEN)]) {
    const reply = await anonymousRequest(`${baseUrl}/v1/admin/jobs`, { headers });
    t.is(reply.status, 200, `the admin token without an API key, in ${Object.keys(headers).join('')}`);
    t.is(reply.headers.get('cache-control'), 'no-store');
  }
  const off = await embedded(t);
  const reply = await request(`${off.baseUrl}/v1/admin/jobs`, { headers: { [ADMIN_TOKEN_HEADER]: ADMIN_TOKEN } });
  t.is(reply.status, 403);
  t.is(errorSchema.parse(json(reply)).error.code, 'admin_disabled');
});

test('run-job.ts runs a job from the command line and prints the recorded run', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'progimage-run-job-'));
  t.teardown(() => rm(dataDir, { recursive: true, force: true }));
  const run = (job: string) =>
    promisify(execFile)(process.execPath, ['--import', 'tsx', 'scheduler/run-job.ts', job], {
      env: { PATH: process.env.PATH, PROGIMAGE_DATA_DIR: dataDir, PROGIMAGE_LOG_LEVEL: 'silent' },
    });
  const { stdout } = await run('expiry');
  t.like(runSchema.omit({ links: true }).parse(JSON.parse(stdout)), { seq: 1, outcome: 'succeeded', counts: {} });
  t.like(JSON.parse((await run('expiry')).stdout), { seq: 2 });
  const error = await t.throwsAsync(run('backup'));
  t.like(error, { code: 64 });
  t.regex(
    String((error as { stderr?: string } | undefined)?.stderr),
    /jobs: signatures, rescan, expiry, orphans, duplicates, image-id-claims/,
  );
});
