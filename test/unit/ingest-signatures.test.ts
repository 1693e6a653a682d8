import test from 'ava';
import {
  INGEST_SIGNATURE_HEADERS,
  ingestSignatureMatches,
  ingestSignedBytes,
  signIngestRequest,
} from '../../lib/auth/ingest-signatures.ts';

/** The example of docs/events.md, computed there with Python's hmac: every implementation must agree on it. */
const VECTOR = {
  keyId: 'ing_0123456789abcdef',
  secret: 'ingsec_test-vector-secret-0123456789abcdefghijklmnop',
  timestamp: '1700000000',
  topic: 'ingest.requested',
  value: Buffer.from('{"imageId":"x"}'),
  signature: 'yDKij5QlZul_G3uEGwNNp8W5DZ9NSqrIt4L-1R0fJoE',
};

test('a request is signed with the HMAC-SHA256 of the scheme, key id, timestamp, topic and value, as the docs compute it in Python', (t) => {
  const headers = signIngestRequest(VECTOR, VECTOR.topic, VECTOR.value, Number(VECTOR.timestamp) * 1000 + 999);
  t.deepEqual(headers, {
    [INGEST_SIGNATURE_HEADERS.keyId]: VECTOR.keyId,
    [INGEST_SIGNATURE_HEADERS.timestamp]: VECTOR.timestamp,
    [INGEST_SIGNATURE_HEADERS.signature]: VECTOR.signature,
  });
  t.is(
    ingestSignedBytes(VECTOR.keyId, VECTOR.timestamp, VECTOR.topic, VECTOR.value).toString('utf8'),
    'progimage-ingest-v1\ning_0123456789abcdef\n1700000000\ningest.requested\n{"imageId":"x"}',
  );
});

test('a signature verifies only over exactly what was signed, with the same secret; base64 padding does not matter', (t) => {
  const signed = ingestSignedBytes(VECTOR.keyId, VECTOR.timestamp, VECTOR.topic, VECTOR.value);
  t.true(ingestSignatureMatches(VECTOR.secret, signed, VECTOR.signature));
  t.true(ingestSignatureMatches(VECTOR.secret, signed, `${VECTOR.signature}=`));
  const changes: [what: string, bytes: Buffer, secret: string, signature: string][] = [
    [
      'another value',
      ingestSignedBytes(VECTOR.keyId, VECTOR.timestamp, VECTOR.topic, Buffer.from('{"imageId":"y"}')),
      VECTOR.secret,
      VECTOR.signature,
    ],
    ['another time', ingestSignedBytes(VECTOR.keyId, '1700000001', VECTOR.topic, VECTOR.value), VECTOR.secret, VECTOR.signature],
    [
      'another topic',
      ingestSignedBytes(VECTOR.keyId, VECTOR.timestamp, 'staging.ingest.requested', VECTOR.value),
      VECTOR.secret,
      VECTOR.signature,
    ],
    [
      'another key id',
      ingestSignedBytes('ing_fedcba9876543210', VECTOR.timestamp, VECTOR.topic, VECTOR.value),
      VECTOR.secret,
      VECTOR.signature,
    ],
    ['another secret', signed, `${VECTOR.secret}x`, VECTOR.signature],
    ['a truncated signature', signed, VECTOR.secret, VECTOR.signature.slice(0, -2)],
    ['no signature', signed, VECTOR.secret, ''],
  ];
  for (const [what, bytes, secret, signature] of changes) t.false(ingestSignatureMatches(secret, bytes, signature), what);
});
