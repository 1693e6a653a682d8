import type { StoredBytes } from '../lib/auth/stored-bytes.ts';
import { TOPICS } from '../lib/events/topics.ts';
import { runConsumer } from '../lib/pipeline/consumer.ts';
import { DEFAULT_RETRY_POLICY } from '../lib/pipeline/retry.ts';
import type { Logger } from '../lib/logger.ts';
import type { Registry } from 'prom-client';
import type { BlobStore } from '../lib/ports/blob-store.ts';
import type { EventBus, Subscription } from '../lib/ports/event-bus.ts';
import { recordItem, type BatchCollections } from './batches-collection.ts';
import type { ImagesCollection } from './images-collection.ts';
import { createOutcomeAnnouncer } from './announce-outcome.ts';
import { deleteImage } from './delete-image.ts';
import { InProgressRecords } from './in-progress-records.ts';
import { projectEvent } from './project-event.ts';

/** Every topic whose events the catalog records. */
const RECORDED_TOPICS = [
  TOPICS.imageUploaded,
  TOPICS.imageScanned,
  TOPICS.imageRescanned,
  TOPICS.imageExpired,
  TOPICS.imageDeduplicated,
  TOPICS.imageStripped,
  TOPICS.imageCompressed,
  TOPICS.imageVariantsBuilt,
  TOPICS.imageFailed,
  TOPICS.transformCompleted,
] as const;

export interface ProjectorDependencies {
  readonly bus: EventBus;
  readonly blobs: BlobStore;
  readonly images: ImagesCollection;
  readonly batches: BatchCollections;
  readonly storedBytes: StoredBytes;
  readonly log: Logger;
  readonly metrics: Registry;
  /** Hears of every image an event changed (to drop what was kept of it). */
  readonly imageChanged: (imageId: string) => void;
  /** Events projected at once: different images' together, one image's in order. */
  readonly concurrency: number;
}

/**
 * Keeps the images, batch items and tenants' stored bytes in step with the
 * event stream, and publishes each image's outcome (ready, failed, infected,
 * deleted) once its record reaches it.
 */
export function startProjector({
  bus,
  blobs,
  images,
  batches,
  storedBytes,
  log,
  metrics,
  imageChanged,
  concurrency,
}: ProjectorDependencies): Promise<Subscription> {
  const announce = createOutcomeAnnouncer(bus, images);
  const records = new InProgressRecords(images);
  return runConsumer({
    bus,
    log,
    group: 'progimage-catalog',
    topics: RECORDED_TOPICS,
    retry: DEFAULT_RETRY_POLICY,
    metrics,
    concurrency,
    handle: async (event) => {
      if (event.type === TOPICS.transformCompleted) {
        await recordItem(batches.items, event);
        return [];
      }
      if (event.type === TOPICS.imageExpired) {
        const current = (await images.get(event.imageId))?.document;
        // Only the expiry the scheduler saw: an image is never deleted for another image's (or an older) deadline.
        if (current?.tenant === event.tenant && current.original?.expiresAt === event.payload.expiresAt) {
          await deleteImage({ images, blobs, storedBytes, forget: imageChanged, announce }, event);
        }
        return [];
      }
      const saved = { firstOriginal: false };
      const projected = await records.update(event, (record) => {
        const next = record === null || record.tenant === event.tenant ? projectEvent(record, event) : null;
        saved.firstOriginal = record?.original === undefined && next?.original !== undefined;
        return next;
      });
      // Counted once: when the original is first recorded (a redelivered upload finds it there).
      if (saved.firstOriginal && event.type === TOPICS.imageUploaded) await storedBytes.add(event.tenant, event.payload.bytes);
      imageChanged(event.imageId);
      // Also when the event changed nothing: it may be the redelivery of one whose outcome was not published yet.
      // With its version: recording the outcome then saves on it without reading the record again.
      if (projected?.document.tenant === event.tenant) await announce(projected.document, projected.version);
      return [];
    },
  });
}
