import { INGEST_SIGNATURE_HEADERS } from '../lib/auth/ingest-signatures.ts';
import { errorMessage } from '../lib/error-message.ts';
import { createOutcome, OUTCOME_TYPES, type OutcomeOf } from '../lib/events/outcomes.ts';
import { imageIdSchema, tenantSchema } from '../lib/ids.ts';
import type { DeliveredMessage } from '../lib/ports/event-bus.ts';
import { IngestRejection } from './ingest-rejection.ts';

/** The image id and tenant a message names, as far as they can be read: a rejection repeats them, proven or not. */
function namedIn(value: Buffer): { readonly imageId: string | null; readonly tenant: string | null } {
  let candidate: unknown;
  try {
    candidate = JSON.parse(value.toString('utf8'));
  } catch {
    return { imageId: null, tenant: null };
  }
  const { imageId, tenant } = (typeof candidate === 'object' && candidate !== null ? candidate : {}) as Record<string, unknown>;
  const read = imageIdSchema.safeParse(imageId);
  const named = tenantSchema.safeParse(tenant);
  return { imageId: read.success ? read.data : null, tenant: named.success ? named.data : null };
}

/**
 * The ingest.rejected outcome of a request given up on: why (an
 * IngestRejection's reason, or not_admitted for a failure that kept
 * recurring), and which request, so that its upstream can tell it was theirs.
 * Its id derives from the message's place in the topic, so a repeat is recognised.
 */
export function rejectionOutcome(
  message: DeliveredMessage,
  topicName: string,
  failure: unknown,
): OutcomeOf<typeof OUTCOME_TYPES.ingestRejected> {
  const rejection =
    failure instanceof IngestRejection
      ? failure
      : new IngestRejection('not_admitted', `the request could not be admitted: ${errorMessage(failure)}`);
  const named = namedIn(message.value);
  return createOutcome(
    OUTCOME_TYPES.ingestRejected,
    { imageId: named.imageId, tenant: rejection.provenTenant },
    {
      reason: rejection.reason,
      message: rejection.message,
      request: {
        topic: topicName,
        partition: message.partition,
        offset: message.offset,
        key: message.key,
        keyId: message.headers?.[INGEST_SIGNATURE_HEADERS.keyId] ?? null,
        tenant: named.tenant,
      },
    },
    [message.topic, String(message.partition), message.offset],
    new Date().toISOString(),
  );
}
