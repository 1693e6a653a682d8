import { z } from 'zod';
import type { ZodOpenApiPathsObject } from 'zod-openapi';
import { OUTPUT_FORMATS, type Batch, type BatchItem } from '@progimage/transform-language';
import { delivered, deliveryHeaders, deliveryQuery, imageAnswer } from '../lib/http/contract/image-bytes.ts';
import { idempotencyHeaders, nextOf, pageLimit, pathSegment } from '../lib/http/contract/parameters.ts';
import { always, badQuery, failure, SIGNATURE_REFUSED } from '../lib/http/contract/refusals.ts';
import { transformObject } from '../lib/http/contract/transform-query.ts';
import { batchRequestOf } from './create-batch.ts';

/** A batch request as the document gives it: each transform by the language's option names and types. */
const batchRequestSchema = batchRequestOf(transformObject).meta({
  id: 'BatchRequest',
  oneOf: [{ required: ['images'] }, { required: ['urls'] }],
});

/** GET /v1/batches/ID: which page of its items. */
export const itemsQuery = z.object({
  cursor: nextOf(z.string().regex(/^[0-9a-f-]{36}:\d{6}$/)),
  limit: pageLimit(500, 100),
});

/** GET /v1/batches/ID/items/INDEX/FILE: an item's index. */
export const itemIndexSchema = z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

const at = z.iso.datetime({ offset: true });

/** A batch (catalog/batch-view.ts makes it; the client's `Batch`). */
export const batchSchema = z
  .object({
    id: z.uuid(),
    status: z.enum(['accepting', 'running', 'completed']),
    createdAt: at,
    store: z.boolean(),
    transforms: z.array(z.record(z.string(), z.unknown())),
    counts: z.object({ total: z.int(), done: z.int(), failed: z.int(), pending: z.int() }),
    links: z.object({ self: z.string(), events: z.string() }),
  })
  .meta({ id: 'Batch' }) satisfies z.ZodType<Batch>;

const batchItemSchema = z
  .object({
    index: z.int(),
    status: z.enum(['done', 'failed']),
    completedAt: at,
    failure: z.object({ code: z.string(), reason: z.string() }).nullable(),
    results: z.array(
      z.object({
        transform: z.int(),
        format: z.enum(OUTPUT_FORMATS),
        width: z.int(),
        height: z.int(),
        bytes: z.int(),
        url: z.string().nullable(),
      }),
    ),
  })
  .meta({ id: 'BatchItem' }) satisfies z.ZodType<BatchItem>;

const batchPageSchema = batchSchema.extend({ items: z.array(batchItemSchema), next: z.string().nullable() }).meta({ id: 'BatchPage' });

const batchPath = z.object({ id: pathSegment('The batch id') });
const noBatch = { '404': failure('no such batch', ['not_found']) };

/** The Server-Sent Events of a batch: `progress` whenever the counts change, then `completed`; comments keep the stream open. */
const batchEvents = z
  .object({
    event: z.enum(['progress', 'completed', 'error']),
    data: z.string().meta({ contentMediaType: 'application/json', description: 'A Batch (JSON); for error, {message}' }),
  })
  .meta({
    description:
      'One event: progress with the Batch whenever its counts change, completed with the last, then the stream ends; ' +
      '": keep-alive" comments every 15 s; error with {message} if the counts cannot be read',
  });

export const batchPaths: ZodOpenApiPathsObject = {
  '/v1/batches': {
    post: {
      operationId: 'createBatch',
      summary: 'Transforms stored images or URLs in bulk',
      requestParams: { header: idempotencyHeaders },
      requestBody: { required: true, content: { 'application/json': { schema: batchRequestSchema } } },
      responses: {
        '202': { description: 'Accepted; follow it at links.events', content: { 'application/json': { schema: batchSchema } } },
        '400': failure('a bad request or transformation', ['invalid_json', 'invalid_body', 'invalid_transform', 'invalid_idempotency_key']),
        '413': failure('the body is too large', ['payload_too_large']),
        '415': failure('not JSON', ['unsupported_media_type']),
        '422': failure('the Idempotency-Key was used for another batch', ['idempotency_key_reused']),
        ...always,
        '403': failure('only presets may be stored, or a signed URL is refused', ['presets_only', ...SIGNATURE_REFUSED]),
      },
    },
  },
  '/v1/batches/{id}': {
    get: {
      operationId: 'getBatch',
      summary: "A batch's counts and a page of its items",
      requestParams: { path: batchPath, query: itemsQuery },
      responses: {
        '200': { description: 'The batch', content: { 'application/json': { schema: batchPageSchema } } },
        ...badQuery(),
        ...noBatch,
        ...always,
      },
    },
  },
  '/v1/batches/{id}/events': {
    get: {
      operationId: 'watchBatch',
      summary: 'Server-Sent Events: progress (data: a Batch) whenever the counts change, then completed',
      requestParams: { path: batchPath },
      responses: {
        '200': { description: 'The event stream', content: { 'text/event-stream': { schema: batchEvents } } },
        ...noBatch,
        ...always,
      },
    },
  },
  '/v1/batches/{id}/items/{index}/{file}': {
    get: {
      operationId: 'getBatchOutput',
      summary: "An item's output: TRANSFORM.EXT",
      requestParams: {
        path: batchPath.extend({ index: itemIndexSchema, file: pathSegment('TRANSFORM.EXT') }),
        query: deliveryQuery,
        header: deliveryHeaders,
      },
      responses: { '200': imageAnswer('The output'), ...delivered, '404': failure('no such output', ['not_found']), ...always },
    },
  },
};
