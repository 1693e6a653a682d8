import { z } from 'zod';
import { derivedId, imageIdSchema, tenantSchema } from '../ids.ts';
import { outputFormatSchema, pipelineStageSchema } from './payloads.ts';

/*
 * The outcomes: the public events that tell upstream systems what became of
 * their images, on the topic progimage.outcomes.v1 and, to each tenant's
 * endpoints, as webhooks (webhooks/).
 * This is a public contract: a change a consumer of version 1 would not read
 * comes as a new schemaVersion on a new topic, never on this one.
 */

export const OUTCOME_SCHEMA_VERSION = 1;

export const OUTCOME_TYPES = {
  imageReady: 'image.ready',
  imageFailed: 'image.failed',
  imageInfected: 'image.infected',
  imageDeleted: 'image.deleted',
  ingestRejected: 'ingest.rejected',
} as const;

export type OutcomeType = (typeof OUTCOME_TYPES)[keyof typeof OUTCOME_TYPES];
export const outcomeTypeSchema = z.enum(Object.values(OUTCOME_TYPES) as [OutcomeType, ...OutcomeType[]]);

/** A path on the API's base URL, e.g. /v1/images/ID.webp. */
const link = z.string().startsWith('/v1/');
const dimension = z.number().int().positive();
const byteCount = z.number().int().nonnegative();

export const imageReadySchema = z
  .object({
    format: outputFormatSchema,
    width: dimension,
    height: dimension,
    bytes: byteCount,
    expiresAt: z.iso.datetime().nullable().describe('When the image will be deleted; null: when asked to'),
    links: z.object({
      self: link.describe('The image: its metadata and processing state'),
      image: link.describe('The processed image in its own format'),
      webp: link
        .optional()
        .describe(
          'The image as WebP (absent when too large for WebP); any supported extension works on self, with transform options in the query',
        ),
    }),
    variants: z.array(
      z.object({ name: z.string(), format: outputFormatSchema, width: dimension, height: dimension, bytes: byteCount, url: link }),
    ),
  })
  .describe('Every stage is done: the image can be served');

export const imageFailedOutcomeSchema = z
  .object({
    stage: pipelineStageSchema,
    reason: z.string(),
    links: z.object({ self: link }),
  })
  .describe('A stage gave up on the image (ingest: it could not be taken in); it is never served');

export const imageInfectedSchema = z
  .object({
    signatures: z.array(z.string()).describe('What the virus scanner found'),
    links: z.object({ self: link }),
  })
  .describe('The virus scanner found malware: the image is quarantined and never served');

export const imageDeletedSchema = z
  .object({ deletedAt: z.iso.datetime() })
  .describe('The image and everything derived from it are deleted (asked for, or expired)');

/** Why an ingest request was not taken in for any tenant. */
export const REJECTION_REASONS = [
  'unsigned',
  'signature_invalid',
  'unknown_credential',
  'credential_revoked',
  'timestamp_out_of_range',
  'malformed',
  'unknown_tenant',
  'tenant_mismatch',
  'image_id_taken',
  'image_id_reused',
  'not_admitted',
] as const;
export const rejectionReasonSchema = z.enum(REJECTION_REASONS);
export type RejectionReason = z.infer<typeof rejectionReasonSchema>;

export const ingestRejectedSchema = z
  .object({
    reason: rejectionReasonSchema,
    message: z.string().describe('What was wrong, for a person'),
    request: z.object({
      topic: z.string(),
      partition: z.number().int().nonnegative(),
      offset: z.string(),
      key: z.string().describe('The message key, as sent'),
      keyId: z.string().nullable().describe('The progimage-key-id header, as sent'),
      tenant: z.string().nullable().describe('The tenant the request named, proven or not'),
    }),
  })
  .describe('An ingest request was not taken in: nothing was stored for it');

const imageOutcome = <T extends OutcomeType, P extends z.ZodType>(type: T, payload: P) =>
  z.object({
    eventId: z.uuid().describe('The same for every copy of one outcome: delivery is at least once, so dedupe on it'),
    type: z.literal(type),
    schemaVersion: z.literal(OUTCOME_SCHEMA_VERSION),
    imageId: imageIdSchema,
    tenant: tenantSchema,
    time: z.iso.datetime(),
    payload,
  });

export const OUTCOME_SCHEMAS = {
  [OUTCOME_TYPES.imageReady]: imageOutcome(OUTCOME_TYPES.imageReady, imageReadySchema),
  [OUTCOME_TYPES.imageFailed]: imageOutcome(OUTCOME_TYPES.imageFailed, imageFailedOutcomeSchema),
  [OUTCOME_TYPES.imageInfected]: imageOutcome(OUTCOME_TYPES.imageInfected, imageInfectedSchema),
  [OUTCOME_TYPES.imageDeleted]: imageOutcome(OUTCOME_TYPES.imageDeleted, imageDeletedSchema),
  /** A rejection names the image and the tenant only as far as the request did, and proved: either may be null. */
  [OUTCOME_TYPES.ingestRejected]: imageOutcome(OUTCOME_TYPES.ingestRejected, ingestRejectedSchema).extend({
    imageId: imageIdSchema.nullable().describe('The id the request named, when it could be read'),
    tenant: tenantSchema.nullable().describe('The tenant the request proved, if it did'),
  }),
} as const;

export const outcomeSchema = z.discriminatedUnion('type', [
  OUTCOME_SCHEMAS[OUTCOME_TYPES.imageReady],
  OUTCOME_SCHEMAS[OUTCOME_TYPES.imageFailed],
  OUTCOME_SCHEMAS[OUTCOME_TYPES.imageInfected],
  OUTCOME_SCHEMAS[OUTCOME_TYPES.imageDeleted],
  OUTCOME_SCHEMAS[OUTCOME_TYPES.ingestRejected],
]);

export type OutcomeOf<T extends OutcomeType> = z.output<(typeof OUTCOME_SCHEMAS)[T]>;
export type Outcome = z.output<typeof outcomeSchema>;

/**
 * An outcome with its stable id: the same `identity` (the image, for the four
 * image outcomes; the request message, for a rejection) always gives the same
 * eventId, so a repeated outcome is recognised as one.
 */
export function createOutcome<T extends OutcomeType>(
  type: T,
  subject: { readonly imageId: OutcomeOf<T>['imageId']; readonly tenant: OutcomeOf<T>['tenant'] },
  payload: OutcomeOf<T>['payload'],
  identity: readonly string[],
  time: string,
): OutcomeOf<T> {
  return {
    eventId: derivedId('outcome', type, ...identity),
    type,
    schemaVersion: OUTCOME_SCHEMA_VERSION,
    imageId: subject.imageId,
    tenant: subject.tenant,
    time,
    payload,
  } as OutcomeOf<T>;
}

/** The message value of an outcome, validated. */
export const encodeOutcome = (outcome: Outcome): Buffer => Buffer.from(JSON.stringify(outcomeSchema.parse(outcome)));
