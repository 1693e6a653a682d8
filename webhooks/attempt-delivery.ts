import type { WebhookConfig } from '../lib/config/index.ts';
import type { Logger } from '../lib/logger.ts';
import type { TargetPolicy } from '../lib/remote/remote-target.ts';
import type { Versioned } from '../lib/ports/catalog-store.ts';
import { updateVersioned } from '../lib/update-document.ts';
import { retryDelayMs } from './backoff.ts';
import type { WebhookDeliveries, WebhookDelivery } from './deliveries-collection.ts';
import type { DeliveryMetrics } from './delivery-metrics.ts';
import { signingSecrets, type WebhookEndpoint, type WebhookEndpoints } from './endpoints-collection.ts';
import { sendWebhook, type AttemptOutcome } from './send-webhook.ts';

export interface AttemptDependencies {
  readonly endpoints: WebhookEndpoints;
  readonly deliveries: WebhookDeliveries;
  readonly settings: WebhookConfig;
  /** The address policy's exemptions (PROGIMAGE_FETCH_ALLOW_HOSTS). */
  readonly policy: TargetPolicy;
  readonly metrics: DeliveryMetrics;
  readonly log: Logger;
  readonly now: () => number;
}

/** Makes one attempt of a delivery, if it is due; never throws for what the receiver does. */
export type DeliveryAttempt = (deliveryId: string) => Promise<void>;

/** An attempt that has not reported back this long after its deadline counts as lost (its process died), and the delivery is due again. */
const LEASE_MARGIN_MS = 5000;

const iso = (ms: number): string => new Date(ms).toISOString();

function describeDuration(ms: number): string {
  const seconds = Math.round(ms / 1000);
  if (seconds < 120) return `${seconds} s`;
  if (seconds < 2 * 3600) return `${Math.round(seconds / 60)} min`;
  return `${Math.round(seconds / 3600)} h`;
}

/**
 * One attempt at a time per delivery: the attempt claims it (compare-and-set,
 * its next attempt moved past the attempt's deadline), sends it signed with
 * the endpoint's secrets, then records the result in the delivery log and
 * in the endpoint's run of failures, which disables an endpoint that keeps failing.
 */
export function createDeliveryAttempt({
  endpoints,
  deliveries,
  settings,
  policy,
  metrics,
  log,
  now,
}: AttemptDependencies): DeliveryAttempt {
  /**
   * The delivery and its endpoint as this attempt read and saved them (so that
   * recording the result need not read them again); null when it is not due,
   * taken by another attempt, or cannot be sent.
   */
  async function claim(id: string): Promise<{ delivery: Versioned<WebhookDelivery>; endpoint: Versioned<WebhookEndpoint> } | null> {
    const found = await deliveries.get(id);
    if (found === null) return null;
    const { document: delivery, version } = found;
    const at = now();
    if (delivery.state !== 'pending' || delivery.nextAttemptAt === null || Date.parse(delivery.nextAttemptAt) > at) return null;
    const endpoint = await endpoints.get(delivery.endpointId);
    if (endpoint === null) {
      await deliveries.delete(id);
      return null;
    }
    if (!endpoint.document.enabled) {
      const lastError = `not sent: the endpoint is disabled (${endpoint.document.disabledReason ?? 'by request'})`;
      if ((await deliveries.save({ ...delivery, state: 'failed', nextAttemptAt: null, lastError }, version)) !== null)
        metrics.givenUp.inc();
      return null;
    }
    const claimed: WebhookDelivery = {
      ...delivery,
      attempts: delivery.attempts + 1,
      lastAttemptAt: iso(at),
      nextAttemptAt: iso(at + settings.timeoutMs + LEASE_MARGIN_MS),
    };
    const claimedVersion = await deliveries.save(claimed, version);
    return claimedVersion === null ? null : { delivery: { document: claimed, version: claimedVersion }, endpoint };
  }

  /** The delivery after an attempt: delivered, due again after its backoff, or given up once the schedule is used up. */
  function settled(delivery: WebhookDelivery, outcome: AttemptOutcome, finishedAt: number): WebhookDelivery {
    const last = { lastStatus: outcome.status, lastError: outcome.error };
    if (outcome.result === 'delivered')
      return { ...delivery, ...last, state: 'delivered', deliveredAt: iso(finishedAt), nextAttemptAt: null, failuresInRow: 0 };
    const failuresInRow = delivery.failuresInRow + 1;
    const wait = retryDelayMs(settings.retryScheduleMs, failuresInRow);
    return {
      ...delivery,
      ...last,
      failuresInRow,
      state: wait === null ? 'failed' : 'pending',
      nextAttemptAt: wait === null ? null : iso(finishedAt + wait),
    };
  }

  /**
   * Counts the attempt in the endpoint's run of failures (a success ends it);
   * disables the endpoint when the run is too long. `known`: the endpoint as
   * the claim read it. A success on an endpoint that had no failures then
   * writes nothing; any change is a compare-and-set on that version.
   */
  async function recordOnEndpoint(known: Versioned<WebhookEndpoint>, outcome: AttemptOutcome, startedAt: number): Promise<void> {
    const endpointId = known.document.id;
    let disabledReason = null as string | null;
    await updateVersioned(
      endpoints,
      endpointId,
      (current) => {
        disabledReason = null;
        if (current === null) return null;
        if (outcome.result === 'delivered')
          return current.consecutiveFailures === 0 ? null : { ...current, consecutiveFailures: 0, failingSince: null };
        const consecutiveFailures = current.consecutiveFailures + 1;
        const failingSince = current.failingSince ?? iso(startedAt);
        const failingForMs = now() - Date.parse(failingSince);
        const tooMany = settings.disableAfterFailures !== null && consecutiveFailures >= settings.disableAfterFailures;
        const next = { ...current, consecutiveFailures, failingSince };
        if (!current.enabled || !(tooMany || failingForMs >= settings.disableAfterMs)) return next;
        disabledReason =
          `disabled after ${consecutiveFailures} failed delivery attempts in a row over ${describeDuration(failingForMs)}, ` +
          `none succeeding since ${failingSince}; the last: ${outcome.error ?? 'failed'}`;
        return { ...next, enabled: false, disabledReason, disabledAt: iso(now()) };
      },
      known,
    );
    if (disabledReason !== null) {
      metrics.disabled.inc();
      log.warn({ endpointId, reason: disabledReason }, 'webhook endpoint disabled');
    }
  }

  return async (id) => {
    const taken = await claim(id);
    if (taken === null) return;
    const delivery = taken.delivery.document;
    const endpoint = taken.endpoint.document;
    const startedAt = now();
    const message = { id: delivery.id, timestamp: new Date(startedAt), body: delivery.body };
    const outcome = await sendWebhook(endpoint.url, message, signingSecrets(endpoint, message.timestamp), {
      ...policy,
      timeoutMs: settings.timeoutMs,
    });
    metrics.attempts.inc({ result: outcome.result });
    const after = (
      await updateVersioned(deliveries, id, (current) => (current === null ? null : settled(current, outcome, now())), taken.delivery)
    )?.document;
    const bindings = { deliveryId: id, endpointId: endpoint.id, eventId: delivery.eventId, attempt: delivery.attempts };
    if (outcome.result === 'delivered') log.debug(bindings, 'webhook delivered');
    else if (after?.state === 'failed') {
      metrics.givenUp.inc();
      log.warn({ ...bindings, error: outcome.error }, 'webhook delivery given up: its retries are used up');
    } else
      log.info({ ...bindings, error: outcome.error, nextAttemptAt: after?.nextAttemptAt }, 'webhook delivery failed; it will be retried');
    await recordOnEndpoint(taken.endpoint, outcome, startedAt);
  };
}
