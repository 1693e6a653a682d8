import Router from '@koa/router';
import { createTask, type ScheduledTask } from 'node-cron';
import type { ServiceFactory } from '../lib/service/host.ts';
import { adminRoutes } from './admin-routes.ts';
import { openRunner } from './open-runner.ts';
import { signatureHealth } from './signature-state.ts';

/** The scheduled time of a cron firing, to the second: every scheduler computes the same one. */
const slotOf = (date: Date): Date => new Date(Math.floor(date.getTime() / 1000) * 1000);

/**
 * The jobs on their cron schedules, run under a lease in the catalog store,
 * and the admin API that lists their runs and starts one now.
 */
export const schedulerService: ServiceFactory = async ({ config, bus, blobs, log, catalogStore }) => {
  const schedulerLog = log.child({ stage: 'scheduler' });
  const { runner, runs, states } = await openRunner({ config, store: await catalogStore(), bus, blobs, log: schedulerLog });
  const tasks = new Map<string, ScheduledTask>();
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
    tasks.set(job.name, task);
  }
  const routes = new Router();
  routes.use(
    adminRoutes({
      runner,
      runs,
      token: config.scheduler.adminToken,
      nextRun: (name) => tasks.get(name)?.getNextRun() ?? null,
    }).routes(),
  );
  return {
    name: 'scheduler',
    routes,
    readiness: { signatures: () => signatureHealth(states, config.scheduler.signaturesMaxAgeHours * 3_600_000) },
    async stop() {
      for (const task of tasks.values()) await task.destroy();
      await runner.stop();
    },
  };
};
