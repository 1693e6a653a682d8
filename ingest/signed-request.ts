import { ingestKeyIdSchema, type IngestCredentialRecord, type IngestCredentials } from '../lib/auth/ingest-credentials.ts';
import { INGEST_SIGNATURE_HEADERS, ingestSignatureMatches, ingestSignedBytes } from '../lib/auth/ingest-signatures.ts';
import type { DeliveredMessage } from '../lib/ports/event-bus.ts';
import { IngestRejection } from './ingest-rejection.ts';

/** How far ahead of this server's clock a signature's time may be (the upstream's clock runs fast). */
const CLOCK_SKEW_SECONDS = 300;
const UNIX_SECONDS = /^\d{1,12}$/;

export interface SignatureCheck {
  readonly credentials: IngestCredentials;
  /** ingest.requested's name on the cluster, the namespace's prefix included: what upstreams sign. */
  readonly topicName: string;
  /** How old a signature may be when its request is taken up. */
  readonly maxAgeSeconds: number;
  readonly now: () => number;
}

/**
 * The credential that signed this message, checked: a key id that was issued
 * and not revoked, an HMAC of the key id, time, topic and exact value with
 * its secret, and a time neither too old nor in the future. Anything else is
 * an IngestRejection saying which.
 */
export async function provenCredential(check: SignatureCheck, message: DeliveredMessage): Promise<IngestCredentialRecord> {
  const header = (name: string): string => message.headers?.[name] ?? '';
  const missing = Object.values(INGEST_SIGNATURE_HEADERS).filter((name) => header(name) === '');
  if (missing.length > 0) throw new IngestRejection('unsigned', `the request is not signed: no ${missing.join(', ')} header`);
  const keyId = header(INGEST_SIGNATURE_HEADERS.keyId);
  const timestamp = header(INGEST_SIGNATURE_HEADERS.timestamp);
  const found = ingestKeyIdSchema.safeParse(keyId).success ? await check.credentials.get(keyId) : null;
  if (found === null) throw new IngestRejection('unknown_credential', `no ingest credential has the key id ${JSON.stringify(keyId)}`);
  const credential = found.document;
  if (credential.revokedAt !== null)
    throw new IngestRejection('credential_revoked', `the ingest credential ${keyId} was revoked at ${credential.revokedAt}`);
  if (
    !ingestSignatureMatches(
      credential.secret,
      ingestSignedBytes(keyId, timestamp, check.topicName, message.value),
      header(INGEST_SIGNATURE_HEADERS.signature),
    )
  ) {
    throw new IngestRejection(
      'signature_invalid',
      `the signature is not the HMAC of this key id, timestamp, topic (${check.topicName}) and value with the secret of ${keyId}`,
    );
  }
  const age = check.now() / 1000 - (UNIX_SECONDS.test(timestamp) ? Number(timestamp) : Number.NaN);
  if (!(age <= check.maxAgeSeconds && age >= -CLOCK_SKEW_SECONDS)) {
    throw new IngestRejection(
      'timestamp_out_of_range',
      `the signature's time ${JSON.stringify(timestamp)} is not Unix seconds within ${check.maxAgeSeconds} s before and ${CLOCK_SKEW_SECONDS} s after the server's clock`,
    );
  }
  return credential;
}
