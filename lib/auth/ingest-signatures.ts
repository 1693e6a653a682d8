import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * How an upstream system proves which tenant an ingest request is for: an
 * HMAC-SHA256, with the secret of one of the tenant's ingest credentials, over
 * the key id, the time, the topic and the exact bytes of the message value,
 * sent in three Kafka headers. docs/events.md shows it in Python.
 */
export const INGEST_SIGNATURE_HEADERS = {
  keyId: 'progimage-key-id',
  timestamp: 'progimage-timestamp',
  signature: 'progimage-signature',
} as const;

/** Names the scheme in what is signed, so that a later one can never be mistaken for it. */
const SCHEME = 'progimage-ingest-v1';

/** What is signed: SCHEME, key id, timestamp and topic, each followed by a newline (\n), then the message value as sent. */
export function ingestSignedBytes(keyId: string, timestamp: string, topic: string, value: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`${SCHEME}\n${keyId}\n${timestamp}\n${topic}\n`, 'utf8'), value]);
}

const hmac = (secret: string, bytes: Buffer): Buffer => createHmac('sha256', secret).update(bytes).digest();

/** An ingest credential: the key id goes in the headers, the secret only into the HMAC. */
export interface IngestSigningKey {
  readonly keyId: string;
  readonly secret: string;
}

/** The headers that sign `value` for publishing on `topic` (its name on the cluster, namespace included), at `now`. */
export function signIngestRequest(key: IngestSigningKey, topic: string, value: Buffer, now = Date.now()): Record<string, string> {
  const timestamp = String(Math.floor(now / 1000));
  return {
    [INGEST_SIGNATURE_HEADERS.keyId]: key.keyId,
    [INGEST_SIGNATURE_HEADERS.timestamp]: timestamp,
    [INGEST_SIGNATURE_HEADERS.signature]: hmac(key.secret, ingestSignedBytes(key.keyId, timestamp, topic, value)).toString('base64url'),
  };
}

/** Whether `signature` (base64url, padded or not) is the HMAC of these bytes with `secret`; constant-time. */
export function ingestSignatureMatches(secret: string, signedBytes: Buffer, signature: string): boolean {
  const given = Buffer.from(signature, 'base64url');
  const expected = hmac(secret, signedBytes);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
