import type { Logger } from '../lib/logger.ts';
import type { WebhookDeliveries } from './deliveries-collection.ts';

const PAGE = 500;

/**
 * Offers every pending delivery whose next attempt is due (a retry, a
 * redelivery, or one a crashed attempt left). Only those are read: the index
 * on state and next attempt finds them, however many wait for later.
 */
async function offerDue(deliveries: WebhookDeliveries, offer: (id: string) => void, now: number): Promise<void> {
  const due = { state: 'pending', nextAttemptAt: { atMost: new Date(now).toISOString() } };
  for (let after: string | undefined; ;) {
    const page = await deliveries.find({ where: due, limit: PAGE, ...(after === undefined ? {} : { after }) });
    for (const delivery of page) offer(delivery.id);
    if (page.length < PAGE) return;
    after = page.at(-1)?.id;
  }
}

export interface Poller {
  stop(): void;
}

/** Looks for due deliveries every `intervalMs` (one look at a time), until stopped. */
export function pollDueDeliveries(deliveries: WebhookDeliveries, offer: (id: string) => void, intervalMs: number, log: Logger): Poller {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const look = (): void => {
    offerDue(deliveries, offer, Date.now())
      .catch((error: unknown) => {
        log.warn({ err: error }, 'could not look for due webhook deliveries');
      })
      .finally(() => {
        if (!stopped) timer = setTimeout(look, intervalMs);
      });
  };
  timer = setTimeout(look, intervalMs);
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
