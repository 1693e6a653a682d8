import test from 'ava';
import { DiagnosticSeverity, Parser } from '@asyncapi/parser';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { imageOutcomeOf } from '../../catalog/image-outcome.ts';
import { projectEvent } from '../../catalog/project-event.ts';
import type { ImageRecord } from '../../catalog/image-record.ts';
import { signIngestRequest } from '../../lib/auth/ingest-signatures.ts';
import { asyncApiDocument } from '../../lib/events/asyncapi-document.ts';
import { createEvent, encodeEvent, type ImageEvent } from '../../lib/events/envelope.ts';
import { OUTCOME_TYPES } from '../../lib/events/outcomes.ts';
import { TOPICS } from '../../lib/events/topics.ts';
import { bearer, json, request, TEST_API_KEY } from '../support/api.ts';
import { passedEvents, uploadedEvent } from '../support/events.ts';
import { startProgImage } from '../support/progimage.ts';

/** The AsyncAPI document of the public topics: valid AsyncAPI 3.0, every public topic in it, and real messages match its schemas. */

// ajv-formats is CommonJS: its default export is the module object under ESM.
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;
const ajv = addFormats(new Ajv({ strict: false, allErrors: true }));
// zod writes startsWith as format starts_with (with a pattern, which is what checks it).
ajv.addFormat('starts_with', true);
const { messages } = asyncApiDocument.components;

test('the official parser finds no error in the document', async (t) => {
  const { document, diagnostics } = await new Parser().parse(JSON.stringify(asyncApiDocument));
  // The diagnostics' enum is another copy of @stoplight/types than the one the parser exports: compare the numbers.
  const error: number = DiagnosticSeverity.Error;
  const errors = diagnostics.filter(({ severity }: { readonly severity: number }) => severity === error);
  t.deepEqual(
    errors.map((diagnostic) => `${diagnostic.path.join('.')}: ${diagnostic.message}`),
    [],
  );
  t.not(document, undefined);
  t.deepEqual(
    document
      ?.channels()
      .all()
      .map((channel) => channel.address())
      .sort(),
    [TOPICS.ingestRequested, TOPICS.outcomes].sort(),
    'every public topic, and no internal one, is a channel',
  );
  t.deepEqual(
    document
      ?.operations()
      .all()
      .map((operation) => operation.action())
      .sort(),
    ['receive', 'send'],
  );
});

test('an outcome the code builds validates against its message schema', (t) => {
  const subject = { imageId: '7a2b3c4d-5e6f-4a8b-9c0d-aabbccddeeff', tenant: 'acme' };
  const { scanned, stripped, compressed, built } = passedEvents(subject);
  const sequence: ImageEvent[] = [uploadedEvent(subject), scanned, stripped, compressed, built];
  const record = sequence.reduce<ImageRecord | null>((current, event) => projectEvent(current, event) ?? current, null);
  const outcome = record === null ? null : imageOutcomeOf(record);
  t.is(outcome?.type, OUTCOME_TYPES.imageReady);
  const validate = ajv.compile(messages.imageReady.payload.schema);
  t.true(validate(JSON.parse(JSON.stringify(outcome))), ajv.errorsText(validate.errors));
  t.false(validate({ ...outcome, type: OUTCOME_TYPES.imageFailed }), 'another type is not this message');
});

test('a signed ingest request validates against its payload and headers schemas', (t) => {
  const event = createEvent(
    TOPICS.ingestRequested,
    { imageId: '1b09c7d4-5e6f-4a8b-9c0d-aabbccddeeff', tenant: 'acme' },
    { url: 'https://example.com/photo.jpg', ttl: 86_400 },
  );
  const value = encodeEvent(event);
  const payload = ajv.compile(messages.ingestRequested.payload.schema);
  t.true(payload(JSON.parse(value.toString('utf8'))), ajv.errorsText(payload.errors));
  const headers = ajv.compile(messages.ingestRequested.headers);
  t.true(
    headers(signIngestRequest({ keyId: 'ing_3q2C8nS0bqS1Vd4F', secret: 'ingsec_x' }, TOPICS.ingestRequested, value)),
    ajv.errorsText(headers.errors),
  );
  t.false(headers({}), 'unsigned is not a request');
});

test('GET /v1/asyncapi.json answers the document', async (t) => {
  const progimage = await startProgImage({});
  try {
    const reply = await request(`${progimage.baseUrl}/v1/asyncapi.json`, { headers: bearer(TEST_API_KEY) });
    t.is(reply.status, 200);
    t.deepEqual(json(reply), JSON.parse(JSON.stringify(asyncApiDocument)));
  } finally {
    await progimage.stop();
  }
});
