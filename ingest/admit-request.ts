import type { TenantCollections } from '../lib/auth/tenants.ts';
import { createEvent, decodeEvent, InvalidEventError, type EventOf, type ImageEvent } from '../lib/events/envelope.ts';
import { TOPICS } from '../lib/events/topics.ts';
import type { DeliveredMessage } from '../lib/ports/event-bus.ts';
import type { PipelineImages } from '../lib/backlog/pipeline-images.ts';
import { inFlightExcess } from '../lib/backlog/tenant-backlog.ts';
import { claimImageId, requestFingerprint, type ImageIdClaims } from '../lib/auth/image-id-claims.ts';
import { IngestRejection } from './ingest-rejection.ts';
import { provenCredential, type SignatureCheck } from './signed-request.ts';

export type AdmissionDependencies = SignatureCheck & {
  readonly tenants: TenantCollections['tenants'];
  readonly claims: ImageIdClaims;
  /** To hold a tenant to its limit of images in flight. */
  readonly images: PipelineImages;
};

/** The message as an ingest request, or why it is not one. */
function readRequest(message: DeliveredMessage): EventOf<typeof TOPICS.ingestRequested> {
  let event: ImageEvent;
  try {
    event = decodeEvent(message.value);
  } catch (error) {
    if (error instanceof InvalidEventError) throw new IngestRejection('malformed', error.reason);
    throw error;
  }
  if (event.type !== TOPICS.ingestRequested)
    throw new IngestRejection('malformed', `type: expected ${TOPICS.ingestRequested}, got ${event.type}`);
  if (message.key !== event.imageId)
    throw new IngestRejection('malformed', `the message key must be the imageId (${event.imageId}), got ${JSON.stringify(message.key)}`);
  return event;
}

/**
 * ingest.requested → ingest.admitted: an upstream's request counts only when
 * it proves its tenant (a signature by one of the tenant's ingest
 * credentials), is a valid request, and names an image id that is free or
 * already this same request's (a repeat). Anything else is an
 * IngestRejection, and nothing is stored for it.
 */
export function createAdmission(dependencies: AdmissionDependencies) {
  return async (message: DeliveredMessage): Promise<EventOf<typeof TOPICS.ingestAdmitted>> => {
    const credential = await provenCredential(dependencies, message);
    const request = readRequest(message);
    const { imageId, tenant } = request;
    const tenantRecord = (await dependencies.tenants.get(tenant))?.document;
    if (tenantRecord === undefined) throw new IngestRejection('unknown_tenant', `there is no tenant ${tenant}`);
    if (tenant !== credential.tenant)
      throw new IngestRejection('tenant_mismatch', `the ingest credential ${credential.id} does not sign for tenant ${tenant}`);
    const excess = await inFlightExcess(dependencies.images, tenantRecord, 1);
    if (excess !== null) {
      throw new IngestRejection(
        'not_admitted',
        `the tenant has ${excess.inFlight} images in the pipeline and may have ${excess.limit}: send it again once some are done`,
        tenant,
      );
    }
    const fingerprint = requestFingerprint(request.payload);
    const claim = await claimImageId(dependencies.claims, request, fingerprint);
    if (claim.tenant !== tenant) throw new IngestRejection('image_id_taken', `image id ${imageId} belongs to another tenant`, tenant);
    if (claim.request !== fingerprint) {
      const before =
        claim.request === null
          ? 'names an image uploaded over HTTP'
          : 'was requested before for another image (another key, url or idempotencyKey)';
      throw new IngestRejection('image_id_reused', `image id ${imageId} ${before}`, tenant);
    }
    return createEvent(TOPICS.ingestAdmitted, request, request.payload);
  };
}
