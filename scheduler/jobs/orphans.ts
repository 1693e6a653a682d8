import type { BlobStore } from '../../lib/ports/blob-store.ts';
import { blobsInUse, type CatalogImages } from '../catalog-images.ts';
import type { Job } from '../job.ts';

/** Blobs that belong to one image: `<prefix>/<tenant>/<image id>[/…]` (see lib/blob-keys.ts). */
const IMAGE_PREFIXES = ['originals/', 'quarantine/', 'derived/'];
const IMAGE_OF_KEY = /^[a-z]+\/[a-z0-9-]+\/([0-9a-f-]{36})(?:\/|$)/;

export interface OrphansJobDependencies {
  readonly images: CatalogImages;
  readonly blobs: BlobStore;
  readonly graceSeconds: number;
  readonly schedule: string | null;
}

/**
 * Deletes blobs of images the catalog does not know (or knows as deleted,
 * with no live image deduplicated onto them),
 * once they are older than the grace period: the original of an upload that
 * crashed before its event was published, what a DELETE cut short left. An
 * upload still in flight is younger than the grace period.
 */
export function orphansJob({ images, blobs, graceSeconds, schedule }: OrphansJobDependencies): Job {
  return {
    name: 'orphans',
    description: 'deletes blobs without a catalog entry, older than the grace period',
    schedule,
    async run({ count, signal }) {
      const cutoff = Date.now() - graceSeconds * 1000;
      const inUse = new Map<string, boolean>();
      const isKnown = async (id: string): Promise<boolean> => {
        let answer = inUse.get(id);
        if (answer === undefined) {
          answer = await blobsInUse(images, id);
          inUse.set(id, answer);
        }
        return answer;
      };
      for (const prefix of IMAGE_PREFIXES) {
        for await (const blob of blobs.list(prefix)) {
          count('examined');
          const id = IMAGE_OF_KEY.exec(blob.key)?.[1];
          if (id === undefined || blob.lastModified.getTime() > cutoff || (await isKnown(id))) continue;
          signal.throwIfAborted();
          await blobs.delete(blob.key);
          count('deleted');
          count('bytesDeleted', blob.size);
        }
      }
    },
  };
}
