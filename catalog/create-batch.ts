import { createHash, randomUUID } from 'node:crypto';
import { z } from 'zod';
import { createEvent, encodeEvent, type ImageEvent } from '../lib/events/envelope.ts';
import type { PayloadOf } from '../lib/events/envelope.ts';
import { TOPICS } from '../lib/events/topics.ts';
import { DomainError, InvalidOptionError } from '../lib/errors.ts';
import { HttpError } from '../lib/http/errors.ts';
import { runConcurrently } from '../lib/concurrency.ts';
import { derivedId, type Tenant } from '../lib/ids.ts';
import type { EventBus } from '../lib/ports/event-bus.ts';
import { canonicalise } from '../lib/transform/canonical.ts';
import { stableJson } from '../lib/transform/canonical.ts';
import { parseOptions } from '../lib/transform/options.ts';
import { expandPreset } from '../lib/transform/presets.ts';
import type { TransformSettings } from '../lib/config/index.ts';
import type { BatchRecord } from './batch-record.ts';
import type { BatchCollections } from './batches-collection.ts';
import { assertServable, findImage, type ImageLookup } from './image-access.ts';

export const MAX_BATCH_ITEMS = 10_000;
const MAX_TRANSFORMS = 10;
/** Items published (and their sources looked up) at a time: a batch is never held as events all at once. */
const CHUNK = 500;
const LOOKUPS_AT_ONCE = 16;

/**
 * A batch request whose transforms are `transform`. The route reads them as
 * any objects, so that parseOptions names a bad one (invalid_transform); the
 * document (batch-contract.ts) gives the transform language's names and types.
 */
export const batchRequestOf = <T extends z.ZodType<Record<string, unknown>>>(transform: T) =>
  z
    .object({
      images: z.array(z.string().max(64)).min(1).max(MAX_BATCH_ITEMS).optional(),
      urls: z.array(z.string().max(4096)).min(1).max(MAX_BATCH_ITEMS).optional(),
      transforms: z.array(transform).min(1).max(MAX_TRANSFORMS),
      store: z.boolean().default(true),
    })
    .strict()
    .refine((body) => (body.images === undefined) !== (body.urls === undefined), 'expected exactly one of images and urls');
export const batchRequestSchema = batchRequestOf(z.record(z.string(), z.unknown()));
export type BatchRequest = z.infer<typeof batchRequestSchema>;

/** The images are looked up as the read API does: a source just uploaded is found (and not ready yet). */
export interface CreateBatchDependencies extends ImageLookup {
  readonly bus: EventBus;
  readonly batches: BatchCollections;
  readonly transforms: () => TransformSettings;
}

/**
 * Every transformation is checked before anything is accepted (a bad one is a
 * 400 naming it), with presets replaced by their options: the items carry
 * what to do, whatever the presets become later.
 */
function expandTransforms(request: BatchRequest, dependencies: CreateBatchDependencies): BatchRequest['transforms'] {
  const { presets, presetsOnly } = dependencies.transforms();
  return request.transforms.map((raw, index) => {
    try {
      const expanded = expandPreset(raw, presets, presetsOnly && request.store);
      const options = parseOptions(expanded);
      if (options.mask !== undefined && 'image' in options.mask)
        throw new InvalidOptionError('mask: other images cannot be used in batches', { option: 'mask' });
      if (options.overlay !== undefined)
        throw new InvalidOptionError('overlay: other images cannot be used in batches', { option: 'overlay' });
      if (options.format !== undefined) canonicalise(options, options.format);
      return expanded;
    } catch (error) {
      if (error instanceof DomainError && !error.retriable) throw error.within(`transforms[${index}]`, { transform: index });
      throw error;
    }
  });
}

type Source = PayloadOf<typeof TOPICS.transformRequested>['source'];

/** A stored image as an item's source (its master), or why it cannot be one. */
async function imageSource(lookup: ImageLookup, tenant: Tenant, id: string): Promise<Source | { code: string; reason: string }> {
  try {
    const image = await findImage(lookup, tenant, id);
    assertServable(image);
    const { master } = image;
    return { image: { id: image.id, key: master.key, format: master.format } };
  } catch (error) {
    if (error instanceof DomainError && !error.retriable) return { code: error.code, reason: `image ${id}: ${error.message}` };
    throw error;
  }
}

/** The events of items [from, to): transform.requested, or transform.completed as failed for an unusable source. */
async function itemEvents(
  dependencies: CreateBatchDependencies,
  batch: BatchRecord,
  request: BatchRequest,
  from: number,
  to: number,
): Promise<ImageEvent[]> {
  return runConcurrently(to - from, LOOKUPS_AT_ONCE, async (offset): Promise<ImageEvent> => {
    const index = from + offset;
    const subject = { imageId: derivedId(batch.id, String(index)), tenant: batch.tenant };
    const url = request.urls?.[index];
    const source = url !== undefined ? { url } : await imageSource(dependencies, batch.tenant, request.images?.[index] ?? '');
    if ('code' in source) {
      return createEvent(TOPICS.transformCompleted, subject, { batchId: batch.id, index, results: [], failure: source });
    }
    return createEvent(TOPICS.transformRequested, subject, {
      batchId: batch.id,
      index,
      source,
      transforms: batch.transforms,
      store: batch.store,
    });
  });
}

/** Publishes the items not published yet, a chunk at a time, noting progress on the batch so a retry resumes. */
async function publishItems(dependencies: CreateBatchDependencies, batch: BatchRecord, request: BatchRequest): Promise<void> {
  for (let from = batch.published; from < batch.total; from += CHUNK) {
    const to = Math.min(from + CHUNK, batch.total);
    const events = await itemEvents(dependencies, batch, request, from, to);
    for (const type of [TOPICS.transformRequested, TOPICS.transformCompleted] as const) {
      const ofType = events.filter((event) => event.type === type);
      await dependencies.bus.publish(
        type,
        ofType.map((event) => ({ key: event.imageId, value: encodeEvent(event) })),
      );
    }
    const current = await dependencies.batches.batches.get(batch.id);
    if (current !== null && current.document.published < to) {
      await dependencies.batches.batches.save({ ...current.document, published: to }, current.version);
    }
  }
}

/**
 * Accepts a batch: records it, then publishes one transform.requested per
 * item. With an Idempotency-Key the batch id is derived from it: a retry of
 * the same request returns the same batch (resuming publication if the first
 * attempt was interrupted); another request under that key is refused.
 */
export async function createBatch(
  dependencies: CreateBatchDependencies,
  tenant: Tenant,
  idempotencyKey: string | null,
  request: BatchRequest,
): Promise<BatchRecord> {
  const transforms = expandTransforms(request, dependencies);
  const requestHash = createHash('sha256').update(stableJson(request)).digest('hex');
  const id = idempotencyKey === null ? randomUUID() : derivedId(tenant, 'batch', idempotencyKey);
  const { batches } = dependencies.batches;
  let batch = (await batches.get(id))?.document ?? null;
  if (batch === null) {
    const fresh: BatchRecord = {
      id,
      tenant,
      createdAt: new Date().toISOString(),
      total: request.images?.length ?? request.urls?.length ?? 0,
      published: 0,
      store: request.store,
      transforms,
      requestHash,
    };
    batch = (await batches.save(fresh, null)) === null ? ((await batches.get(id))?.document ?? fresh) : fresh;
  }
  if (batch.tenant !== tenant || batch.requestHash !== requestHash) {
    throw new HttpError(422, 'idempotency_key_reused', 'this Idempotency-Key was used before for a different batch');
  }
  await publishItems(dependencies, batch, request);
  return { ...batch, published: batch.total };
}
