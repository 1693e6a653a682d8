import { z } from 'zod';
import type { ZodOpenApiPathsObject } from 'zod-openapi';
import { always, OPEN } from './contract/refusals.ts';

const healthSchema = z.object({ status: z.literal('ok') }).meta({ id: 'Health' });
export const readinessSchema = z
  .object({ status: z.enum(['ready', 'degraded', 'not ready']), checks: z.record(z.string(), z.string()) })
  .meta({ id: 'Readiness' });

/** /healthz, /readyz and /metrics of every service; /metrics asks for an API key only when PROGIMAGE_PUBLIC_METRICS is false. */
export const healthPaths = (publicMetrics: boolean): ZodOpenApiPathsObject => ({
  '/healthz': {
    get: {
      ...OPEN,
      operationId: 'health',
      summary: 'The process is alive (every service)',
      responses: { '200': { description: 'Alive', content: { 'application/json': { schema: healthSchema } } } },
    },
  },
  '/readyz': {
    get: {
      ...OPEN,
      operationId: 'readiness',
      summary: 'Every dependency answers (every service)',
      responses: {
        '200': { description: 'Ready', content: { 'application/json': { schema: readinessSchema } } },
        '503': {
          description: 'A dependency does not answer; checks names it',
          content: { 'application/json': { schema: readinessSchema } },
        },
      },
    },
  },
  '/metrics': {
    get: {
      ...(publicMetrics ? OPEN : {}),
      operationId: 'metrics',
      summary: `Prometheus metrics (every service); ${publicMetrics ? 'without credentials (PROGIMAGE_PUBLIC_METRICS=true)' : 'with an API key (PROGIMAGE_PUBLIC_METRICS=false)'}`,
      responses: {
        '200': { description: 'Text format', content: { 'text/plain': { schema: z.string() } } },
        ...(publicMetrics ? {} : always),
      },
    },
  },
});
