import test from 'ava';
import { Registry } from 'prom-client';
import { healthRoutes } from '../../lib/http/health.ts';
import { parsePrometheusText, sampleSum } from '../support/prometheus.ts';

test('/metrics shows each readiness check in exactly one state: ok, degraded or failing', async (t) => {
  const registry = new Registry();
  healthRoutes(
    {
      'event-bus': () => Promise.resolve(),
      signatures: () => Promise.resolve({ degraded: 'signatures out of date' }),
      scanner: () => Promise.reject<undefined>(new Error('clamd does not answer')),
    },
    registry,
  );

  const samples = parsePrometheusText(await registry.metrics());
  const state = (check: string) =>
    ['ok', 'degraded', 'failing'].filter((name) => sampleSum(samples, 'progimage_readiness_state', { check, state: name }) === 1);

  t.deepEqual(state('event-bus'), ['ok']);
  t.deepEqual(state('signatures'), ['degraded']);
  t.deepEqual(state('scanner'), ['failing']);
  t.is(sampleSum(samples, 'progimage_readiness_state'), 3, 'one state per check');
});
