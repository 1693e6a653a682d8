import { blobKeys } from '../../lib/blob-keys.ts';
import { createEvent, encodeEvent } from '../../lib/events/envelope.ts';
import { TOPICS } from '../../lib/events/topics.ts';
import type { BlobStore } from '../../lib/ports/blob-store.ts';
import type { EventBus } from '../../lib/ports/event-bus.ts';
import { waitUntil } from '../../lib/wait.ts';
import { imagesWithStatus, type CatalogImage, type CatalogImages } from '../catalog-images.ts';
import type { Job } from '../job.ts';

/** A ready image, with everything it is served from. */
type Complete = CatalogImage & {
  readonly original: NonNullable<CatalogImage['original']>;
  readonly master: NonNullable<CatalogImage['master']>;
  readonly compression: NonNullable<CatalogImage['compression']>;
  readonly variants: NonNullable<CatalogImage['variants']>;
};

const isComplete = (image: CatalogImage): image is Complete =>
  image.original !== undefined && image.master !== undefined && image.compression !== undefined && image.variants !== undefined;

/** How long a run waits for the catalog to project the repointing before it leaves the rest to the next run. */
const PROJECTION_TIMEOUT_MS = 60_000;

/** Ready images by tenant and original sha256, only the groups with more than one. */
async function groupsOfEqualOriginals(images: CatalogImages, count: (name: string) => void): Promise<Complete[][]> {
  const groups = new Map<string, Complete[]>();
  for await (const image of imagesWithStatus(images, ['ready'])) {
    count('examined');
    if (!isComplete(image)) continue;
    const key = `${image.tenant}\0${image.original.sha256}`;
    groups.set(key, [...(groups.get(key) ?? []), image]);
  }
  return [...groups.values()].filter((group) => group.length > 1);
}

/** The image the others are served from: the oldest one not itself repointed. */
function canonicalOf(group: readonly Complete[]): Complete | undefined {
  const own = group.filter((image) => image.blobsOf === undefined);
  own.sort((a, b) => (a.createdAt === b.createdAt ? (a.id < b.id ? -1 : 1) : a.createdAt < b.createdAt ? -1 : 1));
  return own[0];
}

async function deleteOwnBlobs(blobs: BlobStore, image: Complete): Promise<number> {
  const subject = { tenant: image.tenant, imageId: image.id };
  let deleted = 0;
  for await (const blob of blobs.list(blobKeys.derivedPrefix(subject))) {
    await blobs.delete(blob.key);
    deleted += 1;
  }
  if ((await blobs.stat(blobKeys.original(subject))) !== null) {
    await blobs.delete(blobKeys.original(subject));
    deleted += 1;
  }
  return deleted;
}

export interface DuplicatesJobDependencies {
  readonly images: CatalogImages;
  readonly blobs: BlobStore;
  readonly bus: EventBus;
  readonly schedule: string | null;
}

/**
 * Makes ready images of one tenant with equal originals share one set of
 * blobs: first each duplicate is repointed at the canonical image's blobs
 * (image.deduplicated, projected by the catalog), and only once the catalog
 * shows it repointed are its own blobs deleted. Interrupted anywhere, the
 * next run picks up where this one stopped.
 */
export function duplicatesJob({ images, blobs, bus, schedule }: DuplicatesJobDependencies): Job {
  return {
    name: 'duplicates',
    description: 'makes images with equal originals share one set of blobs',
    schedule,
    async run({ count, signal }) {
      for (const group of await groupsOfEqualOriginals(images, count)) {
        const canonical = canonicalOf(group);
        if (canonical === undefined) continue;
        const duplicates = group.filter((image) => image.id !== canonical.id);
        for (const duplicate of duplicates.filter((image) => image.blobsOf !== canonical.id)) {
          signal.throwIfAborted();
          const event = createEvent(
            TOPICS.imageDeduplicated,
            { imageId: duplicate.id, tenant: duplicate.tenant },
            {
              canonicalId: canonical.id,
              sha256: canonical.original.sha256,
              originalKey: canonical.original.key,
              master: canonical.master,
              compressedMaster: canonical.compression.master,
              variants: canonical.variants.items,
            },
          );
          await bus.publish(TOPICS.imageDeduplicated, [{ key: duplicate.id, value: encodeEvent(event) }]);
          count('repointed');
        }
        for (const duplicate of duplicates) {
          signal.throwIfAborted();
          const repointed = await waitUntil(
            async () => {
              const current = (await images.get(duplicate.id))?.document;
              return current?.blobsOf === canonical.id && current.original?.key === canonical.original.key ? current : false;
            },
            { timeoutMs: PROJECTION_TIMEOUT_MS, intervalMs: 100, description: `the catalog to repoint ${duplicate.id}` },
          ).catch(() => null);
          if (repointed === null || !isComplete(repointed)) {
            count('pending');
            continue;
          }
          count('blobsDeleted', await deleteOwnBlobs(blobs, repointed));
        }
      }
    },
  };
}
