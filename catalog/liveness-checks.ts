import { setTimeout as delay } from 'node:timers/promises';
import type { ImageId } from '../lib/ids.ts';
import type { BlobOwner } from './stored-once.ts';

/**
 * Whether an image is still live, asked once a blob made from it is stored
 * (StoredOnce keeps the blob only if so). The blobs of one image stored
 * within `windowMs` of each other, as the sizes of a srcset are, share one
 * read of its record: made once the window is over, so after every put that
 * asked, as the race with a DELETE needs (the DELETE marks the image before
 * it lists the blobs to delete; a read begun after a put sees the mark, or
 * the listing sees the blob).
 */
export class LivenessChecks {
  readonly #waiting = new Map<ImageId, Promise<boolean>>();

  constructor(
    private readonly read: (imageId: ImageId) => Promise<boolean>,
    private readonly windowMs: number,
  ) {}

  isLive = ({ imageId }: BlobOwner): Promise<boolean> => {
    let check = this.#waiting.get(imageId);
    if (check === undefined) {
      check = this.#readAfterWindow(imageId);
      this.#waiting.set(imageId, check);
    }
    return check;
  };

  async #readAfterWindow(imageId: ImageId): Promise<boolean> {
    await delay(this.windowMs);
    // Whoever asks from now on waits for a read begun after its put: the next one.
    this.#waiting.delete(imageId);
    return this.read(imageId);
  }
}
