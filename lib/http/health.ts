import Router from '@koa/router';
import type { Registry } from 'prom-client';

/**
 * A readiness check: resolves when the dependency answers, with `degraded`
 * when it answers but something about it needs an operator (the service
 * still takes traffic); rejects when it does not answer.
 */
export type ReadinessCheck = () => Promise<void> | Promise<{ readonly degraded: string } | undefined>;

const CHECK_TIMEOUT_MS = 3000;

interface CheckResult {
  readonly answers: boolean;
  readonly report: string;
}

async function runCheck(check: ReadinessCheck): Promise<CheckResult> {
  try {
    const result = await Promise.race([
      check(),
      new Promise<never>((_, reject) => setTimeout(() => { reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)); }, CHECK_TIMEOUT_MS).unref()),
    ]);
    return { answers: true, report: result === undefined ? 'ok' : `degraded: ${result.degraded}` };
  } catch (error) {
    return { answers: false, report: error instanceof Error ? error.message : String(error) };
  }
}

/**
 * /healthz: the process is alive. /readyz: every dependency answers (503
 * naming the ones that do not; 200 "degraded" naming those that need an operator). /metrics: Prometheus text format.
 */
export function healthRoutes(checks: Readonly<Record<string, ReadinessCheck>>, registry: Registry): Router {
  const router = new Router();
  router.get('/healthz', (ctx) => {
    ctx.body = { status: 'ok' };
  });
  router.get('/readyz', async (ctx) => {
    const names = Object.keys(checks);
    const results = await Promise.all(names.map((name) => runCheck(checks[name] ?? (() => Promise.resolve()))));
    const report = Object.fromEntries(names.map((name, index) => [name, results[index]?.report]));
    const ready = results.every((result) => result.answers);
    const degraded = results.some((result) => result.report !== 'ok');
    ctx.status = ready ? 200 : 503;
    ctx.body = { status: ready ? (degraded ? 'degraded' : 'ready') : 'not ready', checks: report };
  });
  router.get('/metrics', async (ctx) => {
    ctx.type = registry.contentType;
    ctx.body = await registry.metrics();
  });
  return router;
}
