import type { WebhookConfig } from '../lib/config/index.ts';
import type { Logger } from '../lib/logger.ts';
import type { TargetPolicy } from '../lib/remote/remote-target.ts';
import { updateVersioned } from '../lib/update-document.ts';
import { retryDelayMs } from './backoff.ts';
import type { WebhookDeliveries, WebhookDelivery } from './deliveries-collection.ts';
import type { DeliveryMetrics } from './delivery-metrics.ts';
import { leaseEnd, type ClaimedDelivery, type DeliveryTask } from './delivery-task.ts';
import { signingSecrets, type WebhookEndpoints } from './endpoints-collection.ts';
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

/** Makes one attempt of a delivery, if it is due or claimed for it already; never throws for what the receiver does. */
export type DeliveryAttempt = (task: DeliveryTask) => Promise<void>;

const iso = (ms: number): string => new Date(ms).toISOString();

function describeDuration(ms: number): string {
  const seconds = Math.round(ms / 1000);
  if (seconds < 120) return `${seconds} s`;
  if (seconds < 2 * 3600) return `${Math.round(seconds / 60)} min`;
  return `${Math.round(seconds / 3600)} h`;
}

/**
 * One attempt at a time per delivery: the attempt claims it (compare-and-set,
 * its next attempt moved past the attempt's deadline; a first attempt is
 * claimed when the delivery is recorded, and made without reading it again
 * while the claim can still cover it), sends it signed with
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
  async function claim(id: string): Promise<ClaimedDelivery | null> {
    const found = await deliveries.get(id);
    if (found === null) return null;
    const { document: delivery, version } = found;
    const at = now();
    if (delivery.state !== 'pending' || delivery.nextAttemptAt === null || Date.parse(delivery.nextAttemptAt) > at) return null;
    const stored = await endpoints.get(delivery.endpointId);
    if (stored === null) {
      await deliveries.delete(id);
      return null;
    }
    const endpoint = stored.document;
    if (!endpoint.enabled) {
      const lastError = `not sent: the endpoint is disabled (${endpoint.disabledReason ?? 'by request'})`;
      if ((await deliveries.save({ ...delivery, state: 'failed', nextAttemptAt: null, lastError }, version)) !== null)
        metrics.givenUp.inc();
      return null;
    }
    const claimed: WebhookDelivery = {
      ...delivery,
      attempts: delivery.attempts + 1,
      lastAttemptAt: iso(at),
      nextAttemptAt: iso(leaseEnd(at, settings.timeoutMs)),
    };
    const claimedVersion = await deliveries.save(claimed, version);
    if (claimedVersion === null) return null;
    return { delivery: { document: claimed, version: claimedVersion }, endpoint, endpointVersion: stored.version };
  }

  /** The claim its recorder made, while it still covers a whole attempt; past that the delivery waits for its lease to lapse. */
  function stillClaimed(claimed: ClaimedDelivery | undefined): ClaimedDelivery | null {
    if (claimed === undefined) return null;
    const lease = claimed.delivery.document.nextAttemptAt;
    return lease !== null && now() + settings.timeoutMs <= Date.parse(lease) ? claimed : null;
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
   * disables the endpoint when the run is too long. A success on an endpoint
   * that had no failures when the claim found it writes nothing; any change
   * is a compare-and-set on the version the claim read (when it read one).
   */
  async function recordOnEndpoint(
    { endpoint, endpointVersion }: ClaimedDelivery,
    outcome: AttemptOutcome,
    startedAt: number,
  ): Promise<void> {
    if (outcome.result === 'delivered' && endpoint.consecutiveFailures === 0) return;
    const endpointId = endpoint.id;
    const known = endpointVersion === null ? undefined : { document: endpoint, version: endpointVersion };
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

  return async ({ id, claimed }) => {
    const taken = stillClaimed(claimed) ?? (await claim(id));
    if (taken === null) return;
    const delivery = taken.delivery.document;
    const endpoint = taken.endpoint;
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
    await recordOnEndpoint(taken, outcome, startedAt);
  };
}
