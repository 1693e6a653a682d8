import Router from '@koa/router';
import { tenantRecordOf } from '../lib/http/admission.ts';
import { reportedWait } from '../lib/backlog/drain-rate.ts';
import { tenantBacklog } from '../lib/backlog/tenant-backlog.ts';
import type { PipelineAdmission } from './pipeline-admission.ts';

/**
 * GET /v1/pipeline: the tenant's images not final yet, by the stage they
 * wait for, its limit of them, and how long the pipeline as a whole would
 * take to drain (null until measured).
 */
export function pipelineRoutes({ images, sampler }: PipelineAdmission): Router {
  const router = new Router();
  router.get('/v1/pipeline', async (ctx) => {
    const tenant = await tenantBacklog(images, tenantRecordOf(ctx));
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { ...tenant, expectedWaitSeconds: reportedWait(sampler.current()?.expectedWaitSeconds ?? null) };
  });
  return router;
}
