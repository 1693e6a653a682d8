import { TOPICS } from '../lib/events/topics.ts';
import { runConsumer } from '../lib/pipeline/consumer.ts';
import { DEFAULT_RETRY_POLICY } from '../lib/pipeline/retry.ts';
import type { Logger } from '../lib/logger.ts';
import type { EventBus, Subscription } from '../lib/ports/event-bus.ts';
import { recordItem, type BatchCollections } from './batches-collection.ts';
import { updateImage, type ImagesCollection } from './images-collection.ts';
import { projectEvent } from './project-event.ts';

/** Every topic whose events the catalog records. */
const RECORDED_TOPICS = [
  TOPICS.imageUploaded,
  TOPICS.imageScanned,
  TOPICS.imageStripped,
  TOPICS.imageCompressed,
  TOPICS.imageVariantsBuilt,
  TOPICS.imageFailed,
  TOPICS.transformCompleted,
] as const;

/**
 * Keeps the images and batch items collections in step with the event stream.
 * `imageChanged` hears of every image an event changed (to drop what was kept of it).
 */
export function startProjector(
  bus: EventBus,
  images: ImagesCollection,
  batches: BatchCollections,
  log: Logger,
  imageChanged: (imageId: string) => void,
): Promise<Subscription> {
  return runConsumer({
    bus,
    log,
    group: 'progimage-catalog',
    topics: RECORDED_TOPICS,
    retry: DEFAULT_RETRY_POLICY,
    handle: async (event) => {
      if (event.type === TOPICS.transformCompleted) {
        await recordItem(batches.items, event);
        return [];
      }
      await updateImage(images, event.imageId, (record) =>
        record === null || record.tenant === event.tenant ? projectEvent(record, event) : null,
      );
      imageChanged(event.imageId);
      return [];
    },
  });
}
