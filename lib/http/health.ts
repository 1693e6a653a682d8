import Router from '@koa/router';
import { Gauge, type Registry } from 'prom-client';

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

/** What a check found: it answers (`ok`), answers but needs an operator (`degraded`), or does not answer (`failing`). */
const READINESS_STATES = ['ok', 'degraded', 'failing'] as const;

const stateOf = ({ answers, report }: CheckResult): (typeof READINESS_STATES)[number] =>
  !answers ? 'failing' : report === 'ok' ? 'ok' : 'degraded';

async function runCheck(check: ReadinessCheck): Promise<CheckResult> {
  try {
    const result = await Promise.race([
      check(),
      new Promise<never>((_, reject) =>
        setTimeout(() => {
          reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`));
        }, CHECK_TIMEOUT_MS).unref(),
      ),
    ]);
    return { answers: true, report: result === undefined ? 'ok' : `degraded: ${result.degraded}` };
  } catch (error) {
    return { answers: false, report: error instanceof Error ? error.message : String(error) };
  }
}

async function runChecks(checks: Readonly<Record<string, ReadinessCheck>>): Promise<[string, CheckResult][]> {
  return Promise.all(Object.entries(checks).map(async ([name, check]) => [name, await runCheck(check)] as [string, CheckResult]));
}

/**
 * /healthz: the process is alive. /readyz: every dependency answers (503
 * naming the ones that do not; 200 "degraded" naming those that need an operator). /metrics: Prometheus text format,
 * with the readiness checks as progimage_readiness_state, so that alerts can see them.
 */
export function healthRoutes(checks: Readonly<Record<string, ReadinessCheck>>, registry: Registry): Router {
  new Gauge({
    name: 'progimage_readiness_state',
    help: 'Each readiness check of /readyz, run when scraped: 1 for the state it is in (ok; degraded: answers but needs an operator; failing: does not answer), 0 for the others',
    labelNames: ['check', 'state'] as const,
    registers: [registry],
    async collect() {
      for (const [check, result] of await runChecks(checks)) {
        for (const state of READINESS_STATES) this.set({ check, state }, state === stateOf(result) ? 1 : 0);
      }
    },
  });
  const router = new Router();
  router.get('/healthz', (ctx) => {
    ctx.body = { status: 'ok' };
  });
  router.get('/readyz', async (ctx) => {
    const results = await runChecks(checks);
    const report = Object.fromEntries(results.map(([name, result]) => [name, result.report]));
    const ready = results.every(([, result]) => result.answers);
    const degraded = results.some(([, result]) => result.report !== 'ok');
    ctx.status = ready ? 200 : 503;
    ctx.body = { status: ready ? (degraded ? 'degraded' : 'ready') : 'not ready', checks: report };
  });
  router.get('/metrics', async (ctx) => {
    ctx.type = registry.contentType;
    ctx.body = await registry.metrics();
  });
  return router;
}
