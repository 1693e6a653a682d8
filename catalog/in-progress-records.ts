import { LRUCache } from 'lru-cache';
import type { ImageEvent } from '../lib/events/envelope.ts';
import { TOPICS } from '../lib/events/topics.ts';
import type { Versioned } from '../lib/ports/catalog-store.ts';
import { updateVersioned } from '../lib/update-document.ts';
import { imageOutcomeOf } from './image-outcome.ts';
import type { ImageRecord } from './image-record.ts';
import type { ImagesCollection } from './images-collection.ts';

/** Images on their way through the pipeline at once, in one catalog process, that are remembered. */
const REMEMBERED_IMAGES = 1_000;

/**
 * The projector's updates of image records. Each image gets five or six
 * events in a few seconds, one after the other: each is projected on the
 * record this process saved for the one before, without reading it again
 * (and the first event inserts it: no read at all for an image whose events
 * come in order). The save is still a compare-and-set on that version, so a
 * record another writer changed meanwhile (a DELETE through the API, another
 * catalog replica) fails it and is read again. An image that reached its outcome (ready, failed, infected,
 * deleted) is forgotten: its next event may be days away.
 */
export class InProgressRecords {
  readonly #saved = new LRUCache<string, Versioned<ImageRecord>>({ max: REMEMBERED_IMAGES });

  constructor(private readonly images: ImagesCollection) {}

  /**
   * updateVersioned on the record of the event's image, from the version this
   * process last saved when it has one. For image.uploaded, which normally
   * comes first, the record is taken not to exist yet: it is inserted without
   * a read (one that exists already fails the insert, and is read).
   */
  async update(
    { imageId, type }: Pick<ImageEvent, 'imageId' | 'type'>,
    change: (current: ImageRecord | null) => ImageRecord | null,
  ): Promise<Versioned<ImageRecord> | null> {
    const known = this.#saved.get(imageId) ?? (type === TOPICS.imageUploaded ? null : undefined);
    let updated = await updateVersioned(this.images, imageId, change, known);
    // "Nothing to do" is decided on the stored record, which another writer may have changed since.
    if (known !== undefined && updated === known) updated = await updateVersioned(this.images, imageId, change);
    if (updated === null || imageOutcomeOf(updated.document) !== null) this.#saved.delete(imageId);
    else this.#saved.set(imageId, updated);
    return updated;
  }
}
