import Router from '@koa/router';
import { jobPaths } from './contract.ts';
import { createTask, type ScheduledTask } from 'node-cron';
import type { ServiceFactory } from '../lib/service/host.ts';
import { adminRoutes } from './admin-routes.ts';
import { openRunner } from './open-runner.ts';
import { signatureHealth } from './signature-state.ts';

/** The scheduled time of a cron firing, to the second: every scheduler computes the same one. */
const slotOf = (date: Date): Date => new Date(Math.floor(date.getTime() / 1000) * 1000);

/** The jobs on their cron schedules, each run under a lease in the catalog store, so any number of schedulers run it once. */
export const schedulerService: ServiceFactory = async ({ config, bus, blobs, log, catalogStore }) => {
  const schedulerLog = log.child({ stage: 'scheduler' });
  const { runner, states } = await openRunner({ config, store: await catalogStore(), bus, blobs, log: schedulerLog });
  const tasks: ScheduledTask[] = [];
  for (const job of runner.jobs) {
    if (job.schedule === null) continue;
    const task = createTask(
      job.schedule,
      async ({ date }) => {
        const result = await runner.start(job.name, 'schedule', slotOf(date));
        if (result.started) await result.finished;
        else schedulerLog.info({ job: job.name, reason: result.reason }, 'scheduled run skipped');
      },
      { name: job.name },
    );
    task.on('execution:failed', ({ execution }) => {
      schedulerLog.error({ job: job.name, err: execution?.error }, 'scheduled run could not start');
    });
    await task.start();
    tasks.push(task);
  }
  for (const job of runner.jobs) {
    if (job.runsAtStart !== true) continue;
    // The run is claimed here and goes on while the scheduler serves; stop() waits for it.
    const result = await runner.start(job.name, 'schedule');
    if (!result.started) schedulerLog.info({ job: job.name, reason: result.reason }, 'run at start skipped');
  }
  return {
    name: 'scheduler',
    readiness: { signatures: () => signatureHealth(states, config.scheduler.signaturesMaxAgeHours * 3_600_000) },
    async stop() {
      for (const task of tasks) await task.destroy();
      await runner.stop();
    },
  };
};

/** When a cron schedule fires next, whether or not this process runs it. */
function nextFiring(schedule: string): Date | null {
  const task = createTask(schedule, () => undefined);
  try {
    return task.getNextRuns(1)[0] ?? null;
  } finally {
    void task.destroy();
  }
}

/**
 * /v1/admin/jobs on the API: the jobs, their recorded runs, and running one
 * now. A run started here runs in this process, under the same lease as the
 * scheduler's.
 */
export const jobsAdminApi: ServiceFactory = async ({ config, bus, blobs, log, catalogStore }) => {
  const { runner, runs } = await openRunner({ config, store: await catalogStore(), bus, blobs, log: log.child({ stage: 'scheduler' }) });
  const routes = new Router();
  routes.use(
    adminRoutes({
      runner,
      runs,
      token: config.auth.adminToken,
      nextRun: (name) => {
        const schedule = runner.job(name)?.schedule ?? null;
        return schedule === null ? null : nextFiring(schedule);
      },
    }).routes(),
  );
  return { name: 'jobs-admin', routes, contract: jobPaths, stop: () => runner.stop() };
};
