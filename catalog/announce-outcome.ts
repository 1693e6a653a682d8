import { encodeOutcome } from '../lib/events/outcomes.ts';
import { TOPICS } from '../lib/events/topics.ts';
import type { EventBus } from '../lib/ports/event-bus.ts';
import { updateDocument } from '../lib/update-document.ts';
import { imageOutcomeOf } from './image-outcome.ts';
import type { ImageRecord } from './image-record.ts';
import type { ImagesCollection } from './images-collection.ts';

/** Publishes the outcome an image's record has reached, if it was not published yet. */
export type OutcomeAnnouncer = (record: ImageRecord) => Promise<void>;

/**
 * Publishes each outcome on progimage.outcomes.v1 then records it as
 * announced. At least once: a crash in between publishes it again with the
 * next event of the image (or the redelivery of this one), under the same
 * event id. A record from before outcomes existed gets none.
 */
export function createOutcomeAnnouncer(bus: EventBus, images: ImagesCollection): OutcomeAnnouncer {
  return async (record) => {
    const outcome = imageOutcomeOf(record);
    if (outcome === null || record.outcomesAnnounced === undefined || record.outcomesAnnounced.includes(outcome.type)) return;
    await bus.publish(TOPICS.outcomes, [{ key: record.id, value: encodeOutcome(outcome) }]);
    await updateDocument(images, record.id, (current) => {
      const announced = current?.outcomesAnnounced;
      return current === null || announced === undefined || announced.includes(outcome.type)
        ? null
        : { ...current, outcomesAnnounced: [...announced, outcome.type] };
    });
  };
}
