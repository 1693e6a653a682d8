import type { Context, Next } from 'koa';
import { collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { TransformSlots } from '../transform/transform-slots.ts';

/** One registry per process, with Node's default metrics, served at /metrics. */
export function createMetricsRegistry(service: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  return registry;
}

export type RequestDurations = Histogram<'method' | 'route' | 'status'>;

/** Every request's duration by method, matched route and status. */
export function requestDurations(registry: Registry): RequestDurations {
  return new Histogram({
    name: 'progimage_http_request_duration_seconds',
    help: 'HTTP request duration by method, route and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
}

/** The route pattern the router matched (e.g. /v1/images/:name), the label requests are counted under. */
export function matchedRoute(ctx: Context): string {
  const route = (ctx as Context & { _matchedRoute?: string | RegExp })._matchedRoute;
  return route === undefined ? 'unmatched' : String(route);
}

/** Records the duration of every request the Koa app handles. */
export function requestMetrics(duration: RequestDurations) {
  return async (ctx: Context, next: Next): Promise<void> => {
    const end = duration.startTimer({ method: ctx.method });
    try {
      await next();
    } finally {
      end({ route: matchedRoute(ctx), status: String(ctx.status) });
    }
  };
}

/** Transformations running and waiting for a turn, read when /metrics is scraped. */
export function countTransformSlots(slots: TransformSlots, registry: Registry): void {
  new Gauge({
    name: 'progimage_transforms_in_flight',
    help: 'Transformations made on request that are running (state="running") or waiting for a turn (state="waiting")',
    labelNames: ['state'] as const,
    registers: [registry],
    collect() {
      this.set({ state: 'running' }, slots.running);
      this.set({ state: 'waiting' }, slots.waiting);
    },
  });
}
