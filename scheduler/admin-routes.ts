import Router from '@koa/router';
import { requireAdminToken } from '../lib/http/admin-token.ts';
import { HttpError } from '../lib/http/errors.ts';
import { runSeqSchema, runsQuery, type JobRunView } from './contract.ts';
import type { Job } from './job.ts';
import type { JobRunner } from './job-runner.ts';
import { recentRuns, runId, type JobRun, type JobRunsCollection } from './job-runs.ts';

export interface AdminRoutesDependencies {
  readonly runner: JobRunner;
  readonly runs: JobRunsCollection;
  /** null: the admin API answers 403 to everything. */
  readonly token: string | null;
  /** The next time each scheduled job fires. */
  readonly nextRun: (job: string) => Date | null;
}

const runView = (run: JobRun): JobRunView => ({ ...run, links: { self: `/v1/admin/jobs/${run.job}/runs/${run.seq}` } });

/** /v1/admin/jobs: the scheduler's jobs, their runs, and running one now. */
export function adminRoutes({ runner, runs, token, nextRun }: AdminRoutesDependencies): Router {
  const router = new Router({ prefix: '/v1/admin/jobs' });
  router.use(requireAdminToken(token));

  const jobNamed = (name: string | undefined): Job => {
    const job = runner.job(name ?? '');
    if (job === undefined) {
      throw new HttpError(404, 'not_found', `no job named ${name ?? ''}`, { jobs: runner.jobs.map((one) => one.name) });
    }
    return job;
  };

  router.get('/', async (ctx) => {
    ctx.body = {
      jobs: await Promise.all(
        runner.jobs.map(async (job) => {
          const [last] = await recentRuns(runs, job.name, 1);
          return {
            name: job.name,
            description: job.description,
            schedule: job.schedule,
            nextRun: nextRun(job.name)?.toISOString() ?? null,
            lastRun: last === undefined ? null : runView(last),
          };
        }),
      ),
    };
  });

  router.get('/:name/runs', async (ctx) => {
    const job = jobNamed(ctx.params.name);
    const query = runsQuery.safeParse(ctx.query);
    if (!query.success) throw new HttpError(400, 'bad_request', 'limit: expected a number from 1 to 500');
    ctx.body = { runs: (await recentRuns(runs, job.name, query.data.limit)).map(runView) };
  });

  router.get('/:name/runs/:seq', async (ctx) => {
    const job = jobNamed(ctx.params.name);
    const seq = runSeqSchema.safeParse(ctx.params.seq).data;
    const found = seq === undefined ? null : await runs.get(runId(job.name, seq));
    if (found === null) throw new HttpError(404, 'not_found', `no run ${ctx.params.seq ?? ''} of ${job.name}`);
    ctx.body = runView(found.document);
  });

  router.post('/:name/runs', async (ctx) => {
    const job = jobNamed(ctx.params.name);
    const result = await runner.start(job.name, 'manual');
    if (!result.started) {
      const details = 'run' in result ? { run: runView(result.run) } : {};
      throw new HttpError(409, 'job_running', `${job.name} is running (${result.reason})`, details);
    }
    ctx.status = 202;
    ctx.set('Location', `/v1/admin/jobs/${job.name}/runs/${result.run.seq}`);
    ctx.body = runView(result.run);
  });

  return router;
}
