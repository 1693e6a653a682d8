import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { IngestRequest } from '../events/payloads.ts';
import { imageIdSchema, tenantSchema, type ImageId, type Tenant } from '../ids.ts';
import type { CatalogStore, DocumentCollection } from '../ports/catalog-store.ts';
import { updateDocument } from '../update-document.ts';

/**
 * Which tenant each image id belongs to: the first to claim it, for good.
 * Every upload claims its id before its original is stored (an insert, so
 * two claims at once cannot both win), which is what keeps an upstream that
 * names another tenant's id from storing anything under it.
 */
const imageIdClaimSchema = z.object({
  id: imageIdSchema,
  tenant: tenantSchema,
  claimedAt: z.iso.datetime(),
  /** The ingest request the id was claimed for (its fingerprint); null for an upload over HTTP. */
  request: z.string().nullable(),
  /** When that request was taken in (its image.uploaded published); null until it is, and for HTTP uploads. */
  takenInAt: z.iso.datetime().nullable(),
});
export type ImageIdClaim = z.infer<typeof imageIdClaimSchema>;
export type ImageIdClaims = DocumentCollection<ImageIdClaim>;

export const openImageIdClaims = (store: CatalogStore): Promise<ImageIdClaims> =>
  store.collection({ name: 'image_ids', schema: imageIdClaimSchema });

/**
 * What makes two ingest requests for one id the same request: the
 * idempotency key when there is one, otherwise the object or URL.
 */
export function requestFingerprint(request: IngestRequest): string {
  const identity =
    request.idempotencyKey === undefined ? { key: request.key, url: request.url } : { idempotencyKey: request.idempotencyKey };
  return createHash('sha256').update(JSON.stringify(identity)).digest('hex');
}

/** Claims `imageId` for `tenant` (and `request`) unless it is claimed already; resolves to the claim that holds. */
export async function claimImageId(
  claims: ImageIdClaims,
  { imageId, tenant }: { readonly imageId: ImageId; readonly tenant: Tenant },
  request: string | null,
): Promise<ImageIdClaim> {
  const claim: ImageIdClaim = { id: imageId, tenant, claimedAt: new Date().toISOString(), request, takenInAt: null };
  if ((await claims.save(claim, null)) !== null) return claim;
  const held = await claims.get(imageId);
  if (held === null) throw new Error(`the claim on ${imageId} was refused as a duplicate yet cannot be read`);
  return held.document;
}

/** Records that the ingest request for `imageId` was taken in, so that its repeats are recognised. */
export async function markTakenIn(claims: ImageIdClaims, imageId: ImageId): Promise<void> {
  const takenInAt = new Date().toISOString();
  await updateDocument(claims, imageId, (claim) => (claim?.takenInAt !== null ? null : { ...claim, takenInAt }));
}
