import { encodeOutcome } from '../lib/events/outcomes.ts';
import { TOPICS } from '../lib/events/topics.ts';
import type { EventBus } from '../lib/ports/event-bus.ts';
import type { Versioned } from '../lib/ports/catalog-store.ts';
import { updateVersioned } from '../lib/update-document.ts';
import { imageOutcomeOf } from './image-outcome.ts';
import type { ImageRecord } from './image-record.ts';
import type { ImagesCollection } from './images-collection.ts';

/**
 * Publishes the outcome an image's record has reached, if it was not published
 * yet. `version`: the record's stored version when the caller has just saved
 * or read it, so that recording the outcome does not read it again.
 */
export type OutcomeAnnouncer = (record: ImageRecord, version?: number) => Promise<void>;

/**
 * Publishes each outcome on progimage.outcomes.v1 then records it as
 * announced. At least once: a crash in between publishes it again with the
 * next event of the image (or the redelivery of this one), under the same
 * event id. A record from before outcomes existed gets none.
 */
export function createOutcomeAnnouncer(bus: EventBus, images: ImagesCollection): OutcomeAnnouncer {
  return async (record, version) => {
    const outcome = imageOutcomeOf(record);
    if (outcome === null || record.outcomesAnnounced === undefined || record.outcomesAnnounced.includes(outcome.type)) return;
    await bus.publish(TOPICS.outcomes, [{ key: record.id, value: encodeOutcome(outcome) }]);
    const known: Versioned<ImageRecord> | undefined = version === undefined ? undefined : { document: record, version };
    await updateVersioned(
      images,
      record.id,
      (current) => {
        const announced = current?.outcomesAnnounced;
        return current === null || announced === undefined || announced.includes(outcome.type)
          ? null
          : { ...current, outcomesAnnounced: [...announced, outcome.type] };
      },
      known,
    );
  };
}
