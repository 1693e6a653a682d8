import { randomUUID } from 'node:crypto';
import { createIngestCredential, openIngestCredentials } from '../../lib/auth/ingest-credentials.ts';
import { signIngestRequest, type IngestSigningKey } from '../../lib/auth/ingest-signatures.ts';
import { createEvent } from '../../lib/events/envelope.ts';
import { outcomeSchema, type Outcome } from '../../lib/events/outcomes.ts';
import type { IngestRequest } from '../../lib/events/payloads.ts';
import { TOPICS } from '../../lib/events/topics.ts';
import type { ImageId, Tenant } from '../../lib/ids.ts';
import { namespaced } from '../../lib/kafka/names.ts';
import type { Subscription } from '../../lib/ports/event-bus.ts';
import { waitUntil } from '../../lib/wait.ts';
import type { RunningProgImage } from './progimage.ts';

/*
 * What an upstream system does on Kafka: publish signed ingest requests and
 * read the outcomes, on a running ProgImage's own bus.
 */

/** A new ingest credential of `tenant` (which must exist), as `npm run admin -- ingest-credential create` makes one. */
export async function ingestCredential(progimage: RunningProgImage, tenant: Tenant): Promise<IngestSigningKey> {
  const created = await createIngestCredential(await openIngestCredentials(await progimage.catalogStore()), tenant, 'test upstream');
  return { keyId: created.id, secret: created.secret };
}

/** ingest.requested's name on the cluster (namespace included): what a signature covers. */
export const ingestTopicName = (progimage: RunningProgImage): string =>
  namespaced(TOPICS.ingestRequested, progimage.config.kafka?.namespace ?? null);

/** The message value of a request, exactly as the docs describe it. */
export const ingestRequest = (subject: { readonly imageId: ImageId; readonly tenant: Tenant }, payload: IngestRequest): Buffer =>
  Buffer.from(JSON.stringify(createEvent(TOPICS.ingestRequested, subject, payload)));

/** Publishes `value` on ingest.requested under `key`, signed with `signingKey` (null: unsigned). */
export async function publishIngestRequest(
  progimage: RunningProgImage,
  key: string,
  value: Buffer,
  signingKey: IngestSigningKey | null,
): Promise<void> {
  const headers = signingKey === null ? {} : signIngestRequest(signingKey, ingestTopicName(progimage), value);
  await progimage.bus.publish(TOPICS.ingestRequested, [{ key, value, headers }]);
}

/** Publishes a signed request for `payload` as `tenant`'s upstream; resolves to the image id it chose. */
export async function requestIngest(
  progimage: RunningProgImage,
  signingKey: IngestSigningKey,
  tenant: Tenant,
  payload: IngestRequest,
  imageId: ImageId = randomUUID(),
): Promise<ImageId> {
  await publishIngestRequest(progimage, imageId, ingestRequest({ imageId, tenant }, payload), signingKey);
  return imageId;
}

/** The outcomes one consumer group has read so far, validated against the public schema. */
export interface OutcomeReader {
  readonly outcomes: readonly Outcome[];
  /** The first outcome `matches` accepts, once it has arrived. */
  next(matches: (outcome: Outcome) => boolean, description: string, timeoutMs?: number): Promise<Outcome>;
  stop(): Promise<void>;
}

/** Reads progimage.outcomes.v1 as a consumer group of its own, from the beginning, as an upstream would. */
export async function readOutcomes(progimage: RunningProgImage, group = `upstream-${randomUUID()}`): Promise<OutcomeReader> {
  const outcomes: Outcome[] = [];
  const subscription: Subscription = await progimage.bus.subscribe(group, [TOPICS.outcomes], (message) => {
    outcomes.push(outcomeSchema.parse(JSON.parse(message.value.toString('utf8'))));
    return Promise.resolve();
  });
  return {
    outcomes,
    next: (matches, description, timeoutMs = 120_000) =>
      waitUntil(() => outcomes.find(matches) ?? false, { timeoutMs, intervalMs: 50, description }),
    stop: () => subscription.stop(),
  };
}

/** Whether `outcome` is of `type` and about `imageId`. */
export const outcomeFor =
  (type: Outcome['type'], imageId: string) =>
  (outcome: Outcome): boolean =>
    outcome.type === type && outcome.imageId === imageId;
