import { claimImageId, type ImageIdClaim, type ImageIdClaims } from '../../lib/auth/image-id-claims.ts';
import { everyDocument } from '../../lib/every-document.ts';
import type { CatalogImages } from '../catalog-images.ts';
import type { Job } from '../job.ts';

export interface ImageIdClaimsJobDependencies {
  readonly images: CatalogImages;
  readonly claims: ImageIdClaims;
}

/**
 * Claims the id of every image stored before image ids were claimed, for the
 * image's own tenant, so that an upstream request of another tenant naming
 * that id is refused (image_id_taken) like one naming a newer image. Deleted
 * images' ids too: a claim holds for good.
 *
 * Images and claims are both read in id order and walked side by side, so a
 * run over a catalog whose images are all claimed reads two pages per 500
 * images and writes nothing. A claim is an insert that never replaces one, so
 * a run is safe beside live uploads and requests, beside another run, and twice.
 */
export function imageIdClaimsJob({ images, claims }: ImageIdClaimsJobDependencies): Job {
  return {
    name: 'image-id-claims',
    description: 'claims, for its own tenant, the id of every image stored before image ids were claimed',
    schedule: null,
    runsAtStart: true,
    async run({ count, signal, log }) {
      const claimed = everyDocument(claims);
      try {
        let next = await claimed.next();
        for await (const image of everyDocument(images)) {
          signal.throwIfAborted();
          count('examined');
          while (next.done !== true && next.value.id < image.id) next = await claimed.next();
          let held: ImageIdClaim;
          if (next.done !== true && next.value.id === image.id) {
            held = next.value;
          } else {
            held = await claimImageId(claims, { imageId: image.id, tenant: image.tenant }, null);
            if (held.tenant === image.tenant) count('claimed');
          }
          if (held.tenant !== image.tenant) {
            // An upstream of another tenant named this id before it was claimed: left to an operator, never overwritten.
            count('conflicting');
            log.warn({ imageId: image.id, tenant: image.tenant, claimedBy: held.tenant }, "an image's id is claimed by another tenant");
          }
        }
      } finally {
        await claimed.return(undefined);
      }
    },
  };
}
