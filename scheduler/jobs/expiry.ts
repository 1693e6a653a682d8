import { createEvent, encodeEvent } from '../../lib/events/envelope.ts';
import { TOPICS } from '../../lib/events/topics.ts';
import type { EventBus } from '../../lib/ports/event-bus.ts';
import { imagesWithStatus, LIVE_STATUSES, type CatalogImages } from '../catalog-images.ts';
import type { Job } from '../job.ts';

export interface ExpiryJobDependencies {
  readonly images: CatalogImages;
  readonly bus: EventBus;
  readonly schedule: string | null;
}

/** Publishes image.expired for every image past its expiresAt; the catalog deletes it with all its blobs. */
export function expiryJob({ images, bus, schedule }: ExpiryJobDependencies): Job {
  return {
    name: 'expiry',
    description: 'deletes images past their time to live, with every blob derived from them',
    schedule,
    async run({ count, signal }) {
      const now = new Date().toISOString();
      for await (const image of imagesWithStatus(images, LIVE_STATUSES)) {
        count('examined');
        const expiresAt = image.original?.expiresAt;
        if (expiresAt === undefined || expiresAt > now) continue;
        signal.throwIfAborted();
        const event = createEvent(TOPICS.imageExpired, { imageId: image.id, tenant: image.tenant }, { expiresAt });
        await bus.publish(TOPICS.imageExpired, [{ key: image.id, value: encodeEvent(event) }]);
        count('expired');
      }
    },
  };
}
