import type { Metric, Registry } from 'prom-client';

/**
 * The registry's metric of this name, created on first use: the services of
 * one process share one registry, and a name may be registered only once.
 */
export function sharedMetric<M extends Metric>(registry: Registry, name: string, create: (registers: Registry[]) => M): M {
  return (registry.getSingleMetric(name) as M | undefined) ?? create([registry]);
}
