import { Counter, type Registry } from 'prom-client';
import { sharedMetric } from '../lib/metrics.ts';

/** Delivery attempts by result, deliveries given up, and endpoints disabled for failing. */
export function deliveryMetrics(registry: Registry) {
  return {
    attempts: sharedMetric(
      registry,
      'progimage_webhook_attempts_total',
      (registers) =>
        new Counter({
          name: 'progimage_webhook_attempts_total',
          help: 'Webhook delivery attempts, by result (delivered, http_error, timeout, unreachable, refused)',
          labelNames: ['result'] as const,
          registers,
        }),
    ),
    givenUp: sharedMetric(
      registry,
      'progimage_webhook_deliveries_given_up_total',
      (registers) =>
        new Counter({
          name: 'progimage_webhook_deliveries_given_up_total',
          help: 'Webhook deliveries given up: their retry schedule ran out, or their endpoint was disabled',
          registers,
        }),
    ),
    disabled: sharedMetric(
      registry,
      'progimage_webhook_endpoints_disabled_total',
      (registers) =>
        new Counter({
          name: 'progimage_webhook_endpoints_disabled_total',
          help: 'Webhook endpoints disabled because their deliveries kept failing',
          registers,
        }),
    ),
  };
}

export type DeliveryMetrics = ReturnType<typeof deliveryMetrics>;
