import { z } from 'zod';
import { INGEST_SIGNATURE_HEADERS } from '../auth/ingest-signatures.ts';
import { EVENT_SCHEMAS } from './envelope.ts';
import { OUTCOME_SCHEMAS, OUTCOME_TYPES, type OutcomeType } from './outcomes.ts';
import { TOPICS } from './topics.ts';

/**
 * The AsyncAPI 3.0 document of the public topics (ingest.requested and
 * progimage.outcomes.v1; never the internal ones), served at
 * GET /v1/asyncapi.json. Every payload schema is generated from the zod schema
 * the code validates that message with, so the two cannot drift;
 * test/unit/asyncapi.test.ts checks it with the official parser.
 */

/** JSON Schema draft-07, the schema format AsyncAPI 3.0 reads by default. */
const SCHEMA_FORMAT = 'application/schema+json;version=draft-07';
const jsonSchema = (schema: z.ZodType, io: 'input' | 'output') => ({
  schemaFormat: SCHEMA_FORMAT,
  schema: z.toJSONSchema(schema, { target: 'draft-7', io }),
});

const NAMESPACED = 'With PROGIMAGE_KAFKA_NAMESPACE set, its name on the cluster has that prefix and a dot (staging.';

/** The Kafka binding of a message: what its key is. */
const keyedByImage = (description: string) => ({ kafka: { key: { type: 'string', description }, bindingVersion: '0.5.0' } });

const signatureHeaders = {
  type: 'object',
  required: Object.values(INGEST_SIGNATURE_HEADERS),
  properties: {
    [INGEST_SIGNATURE_HEADERS.keyId]: { type: 'string', description: "The key id of one of the tenant's ingest credentials" },
    [INGEST_SIGNATURE_HEADERS.timestamp]: { type: 'string', pattern: '^\\d{1,12}$', description: 'When it was signed, in Unix seconds' },
    [INGEST_SIGNATURE_HEADERS.signature]: {
      type: 'string',
      description:
        'base64url HMAC-SHA256, with the credential secret, of "progimage-ingest-v1", the key id, the timestamp and the topic (its name on the cluster), each followed by a newline, then the message value as sent',
    },
  },
};

const outcomeMessage = (type: OutcomeType) => {
  const schema = OUTCOME_SCHEMAS[type];
  return {
    name: type,
    title: `Outcome ${type}`,
    summary: schema.shape.payload.description,
    contentType: 'application/json',
    payload: jsonSchema(schema, 'output'),
    bindings: keyedByImage('The image id; for ingest.rejected, the id the request named, else the request message key'),
  };
};

/** One message per outcome type, named by its key in OUTCOME_TYPES: imageReady, ingestRejected, … */
const outcomeMessages = Object.fromEntries(Object.entries(OUTCOME_TYPES).map(([name, type]) => [name, outcomeMessage(type)])) as {
  readonly [Name in keyof typeof OUTCOME_TYPES]: ReturnType<typeof outcomeMessage>;
};

export const asyncApiDocument = {
  asyncapi: '3.0.0',
  info: {
    title: 'ProgImage events',
    version: '1',
    description:
      'The public Kafka topics of ProgImage: upstream systems publish ingest requests on ingest.requested and read what became of their images on progimage.outcomes.v1. Every other topic is internal and may change with any release. docs/events.md tells the whole contract.',
  },
  channels: {
    ingestRequested: {
      address: TOPICS.ingestRequested,
      title: TOPICS.ingestRequested,
      description: `Requests to take an image in, published by upstream systems, keyed by the image id. ${NAMESPACED}${TOPICS.ingestRequested}).`,
      messages: { ingestRequested: { $ref: '#/components/messages/ingestRequested' } },
    },
    outcomes: {
      address: TOPICS.outcomes,
      title: TOPICS.outcomes,
      description: `What became of every image (ready, failed, infected, deleted) or ingest request (rejected); delivered at least once, so dedupe on eventId. ${NAMESPACED}${TOPICS.outcomes}).`,
      messages: Object.fromEntries(Object.keys(outcomeMessages).map((name) => [name, { $ref: `#/components/messages/${name}` }])),
    },
  },
  operations: {
    requestIngest: {
      action: 'send',
      channel: { $ref: '#/channels/ingestRequested' },
      summary: 'An upstream system asks ProgImage to take in an object it put under incoming/TENANT/ in the bucket, or an image at a URL',
      messages: [{ $ref: '#/channels/ingestRequested/messages/ingestRequested' }],
    },
    receiveOutcomes: {
      action: 'receive',
      channel: { $ref: '#/channels/outcomes' },
      summary: 'An upstream system reads what became of its images and requests',
      messages: Object.keys(outcomeMessages).map((name) => ({ $ref: `#/channels/outcomes/messages/${name}` })),
    },
  },
  components: {
    messages: {
      ingestRequested: {
        name: TOPICS.ingestRequested,
        title: 'Ingest request',
        summary:
          "Exactly one of payload.key (under incoming/TENANT/, TENANT the envelope's tenant) or payload.url; signed with an ingest credential of that tenant",
        contentType: 'application/json',
        headers: signatureHeaders,
        payload: jsonSchema(EVENT_SCHEMAS[TOPICS.ingestRequested], 'input'),
        bindings: keyedByImage('The image id: the same as imageId in the value'),
      },
      ...outcomeMessages,
    },
  },
} as const;
