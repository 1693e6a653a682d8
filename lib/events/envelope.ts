import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { blobKeys } from '../blob-keys.ts';
import { imageIdSchema, tenantSchema, type ImageId, type Tenant } from '../ids.ts';
import {
  imageCompressedSchema,
  imageDeduplicatedSchema,
  imageExpiredSchema,
  imageFailedSchema,
  imageRescanRequestedSchema,
  imageRescannedSchema,
  imageScannedSchema,
  imageStrippedSchema,
  imageUploadedSchema,
  imageVariantsBuiltSchema,
  ingestRequestedSchema,
  transformCompletedSchema,
  transformRequestedSchema,
} from './payloads.ts';
import { TOPICS } from './topics.ts';

/** The version of the envelope and payload schemas this code writes and reads. */
export const SCHEMA_VERSION = 1;

const envelope = <T extends string, P extends z.ZodType>(type: T, payload: P) =>
  z.object({
    eventId: z.uuid(),
    type: z.literal(type),
    schemaVersion: z.literal(SCHEMA_VERSION),
    imageId: imageIdSchema,
    tenant: tenantSchema,
    time: z.iso.datetime(),
    payload,
  });

/** An ingest request, as an upstream publishes it and as admitted: an object it names must be under its own tenant's incoming/ folder. */
const ingestEnvelope = <T extends string>(type: T) =>
  envelope(type, ingestRequestedSchema).superRefine(({ tenant, payload: { key } }, context) => {
    const prefix = blobKeys.incoming(tenant);
    if (key !== undefined && !key.startsWith(prefix))
      context.addIssue({ code: 'custom', path: ['payload', 'key'], message: `expected a key under ${prefix}` });
  });

/** One schema per topic: the event type is the topic name. */
export const EVENT_SCHEMAS = {
  [TOPICS.ingestRequested]: ingestEnvelope(TOPICS.ingestRequested),
  [TOPICS.ingestAdmitted]: ingestEnvelope(TOPICS.ingestAdmitted),
  [TOPICS.imageUploaded]: envelope(TOPICS.imageUploaded, imageUploadedSchema),
  [TOPICS.imageScanned]: envelope(TOPICS.imageScanned, imageScannedSchema),
  [TOPICS.imageStripped]: envelope(TOPICS.imageStripped, imageStrippedSchema),
  [TOPICS.imageCompressed]: envelope(TOPICS.imageCompressed, imageCompressedSchema),
  [TOPICS.imageVariantsBuilt]: envelope(TOPICS.imageVariantsBuilt, imageVariantsBuiltSchema),
  [TOPICS.imageFailed]: envelope(TOPICS.imageFailed, imageFailedSchema),
  [TOPICS.imageRescanRequested]: envelope(TOPICS.imageRescanRequested, imageRescanRequestedSchema),
  [TOPICS.imageRescanned]: envelope(TOPICS.imageRescanned, imageRescannedSchema),
  [TOPICS.imageExpired]: envelope(TOPICS.imageExpired, imageExpiredSchema),
  [TOPICS.imageDeduplicated]: envelope(TOPICS.imageDeduplicated, imageDeduplicatedSchema),
  [TOPICS.transformRequested]: envelope(TOPICS.transformRequested, transformRequestedSchema),
  [TOPICS.transformCompleted]: envelope(TOPICS.transformCompleted, transformCompletedSchema),
} as const;

export type EventType = keyof typeof EVENT_SCHEMAS;
export type EventOf<T extends EventType> = z.output<(typeof EVENT_SCHEMAS)[T]>;
export type PayloadOf<T extends EventType> = EventOf<T>['payload'];
export type ImageEvent = { [T in EventType]: EventOf<T> }[EventType];

export const imageEventSchema = z.discriminatedUnion('type', [
  EVENT_SCHEMAS[TOPICS.ingestRequested],
  EVENT_SCHEMAS[TOPICS.ingestAdmitted],
  EVENT_SCHEMAS[TOPICS.imageUploaded],
  EVENT_SCHEMAS[TOPICS.imageScanned],
  EVENT_SCHEMAS[TOPICS.imageStripped],
  EVENT_SCHEMAS[TOPICS.imageCompressed],
  EVENT_SCHEMAS[TOPICS.imageVariantsBuilt],
  EVENT_SCHEMAS[TOPICS.imageFailed],
  EVENT_SCHEMAS[TOPICS.imageRescanRequested],
  EVENT_SCHEMAS[TOPICS.imageRescanned],
  EVENT_SCHEMAS[TOPICS.imageExpired],
  EVENT_SCHEMAS[TOPICS.imageDeduplicated],
  EVENT_SCHEMAS[TOPICS.transformRequested],
  EVENT_SCHEMAS[TOPICS.transformCompleted],
]);

/** Builds a new event with a fresh id and the current time. */
export function createEvent<T extends EventType>(
  type: T,
  subject: { readonly imageId: ImageId; readonly tenant: Tenant },
  payload: PayloadOf<T>,
): EventOf<T> {
  return {
    eventId: randomUUID(),
    type,
    schemaVersion: SCHEMA_VERSION,
    imageId: subject.imageId,
    tenant: subject.tenant,
    time: new Date().toISOString(),
    payload,
  } as EventOf<T>;
}

/** An event that failed validation; `reason` says which field and why. */
export class InvalidEventError extends Error {
  readonly retriable = false;

  constructor(readonly reason: string) {
    super(`invalid event: ${reason}`);
    this.name = 'InvalidEventError';
  }
}

/** Validates a decoded event; the result is typed by its `type`. */
export function validateEvent(candidate: unknown): ImageEvent {
  const parsed = imageEventSchema.safeParse(candidate);
  if (!parsed.success) {
    throw new InvalidEventError(parsed.error.issues.map((issue) => `${issue.path.join('.') || '(event)'}: ${issue.message}`).join('; '));
  }
  return parsed.data;
}

export function encodeEvent(event: ImageEvent): Buffer {
  return Buffer.from(JSON.stringify(validateEvent(event)));
}

/** Parses and validates the bytes of a message; anything wrong is an InvalidEventError. */
export function decodeEvent(bytes: Buffer): ImageEvent {
  let candidate: unknown;
  try {
    candidate = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new InvalidEventError('not JSON');
  }
  return validateEvent(candidate);
}
