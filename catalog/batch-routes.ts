import { PassThrough } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import Router from '@koa/router';
import type { Context } from 'koa';
import { HttpError } from '../lib/http/errors.ts';
import { idempotencyKey } from '../lib/http/idempotency-key.ts';
import { readJsonBody } from '../lib/http/json-body.ts';
import { sendBlob } from '../lib/http/send-blob.ts';
import { imageIdSchema, type Tenant } from '../lib/ids.ts';
import { tenantOf } from '../lib/http/admission.ts';
import type { BlobStore } from '../lib/ports/blob-store.ts';
import type { BatchRecord } from './batch-record.ts';
import { batchItemId } from './batch-record.ts';
import { batchItemView, batchStatus, batchView, outputFile, type BatchCounts } from './batch-view.ts';
import type { BatchCollections } from './batches-collection.ts';
import { batchRequestSchema, createBatch, type CreateBatchDependencies } from './create-batch.ts';
import { itemIndexSchema, itemsQuery } from './batch-contract.ts';

export interface BatchRoutesDependencies extends CreateBatchDependencies {
  readonly blobs: BlobStore;
}

/** 10,000 URLs of a few hundred characters each. */
const MAX_BATCH_BODY_BYTES = 8 * 1024 * 1024;
/** How often an event stream looks at the counts, and comments to keep proxies from closing it. */
const EVENTS_POLL_MS = 500;
const EVENTS_KEEPALIVE_MS = 15_000;

async function findBatch(batches: BatchCollections, tenant: Tenant, id: string): Promise<BatchRecord> {
  const found = imageIdSchema.safeParse(id).success ? await batches.batches.get(id) : null;
  if (found?.document.tenant !== tenant) throw new HttpError(404, 'not_found', 'no such batch');
  return found.document;
}

async function countsOf(batches: BatchCollections, batch: BatchRecord): Promise<BatchCounts> {
  const [done, failed] = await Promise.all([
    batches.items.count({ batchId: batch.id, status: 'done' }),
    batches.items.count({ batchId: batch.id, status: 'failed' }),
  ]);
  return { total: batch.total, done, failed, pending: batch.total - done - failed };
}

/** Streams `progress` events as the counts change, then `completed`, as Server-Sent Events. */
function streamProgress(ctx: Context, batches: BatchCollections, batch: BatchRecord): void {
  const stream = new PassThrough();
  ctx.req.socket.setTimeout(0);
  ctx.set({ 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store', 'X-Accel-Buffering': 'no' });
  ctx.status = 200;
  ctx.body = stream;
  const disconnected = new AbortController();
  ctx.req.on('close', () => {
    disconnected.abort();
  });
  const send = (event: string, data: unknown) => stream.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  void (async () => {
    let last = '';
    let lastWrite = Date.now();
    try {
      while (!disconnected.signal.aborted) {
        const counts = await countsOf(batches, batch);
        const current = (await batches.batches.get(batch.id))?.document ?? batch;
        const view = batchView(current, counts);
        const text = JSON.stringify(view);
        if (text !== last) {
          send(view.status === 'completed' ? 'completed' : 'progress', view);
          last = text;
          lastWrite = Date.now();
        } else if (Date.now() - lastWrite > EVENTS_KEEPALIVE_MS) {
          stream.write(': keep-alive\n\n');
          lastWrite = Date.now();
        }
        if (batchStatus(current, counts) === 'completed') break;
        await sleep(EVENTS_POLL_MS, undefined, { signal: disconnected.signal }).catch(() => undefined);
      }
    } catch (error) {
      send('error', { message: error instanceof Error ? error.message : String(error) });
    } finally {
      stream.end();
    }
  })();
}

/** POST /v1/batches and how to follow a batch. */
export function batchRoutes(dependencies: BatchRoutesDependencies): Router {
  const { batches, blobs } = dependencies;
  const router = new Router({ prefix: '/v1/batches' });

  router.post('/', async (ctx) => {
    if (typeof ctx.is('json') !== 'string') throw new HttpError(415, 'unsupported_media_type', 'a batch is a JSON body');
    const key = idempotencyKey(ctx);
    const request = await readJsonBody(ctx, batchRequestSchema, MAX_BATCH_BODY_BYTES);
    const batch = await createBatch(dependencies, tenantOf(ctx), key, request);
    ctx.status = 202;
    ctx.set('Location', `/v1/batches/${batch.id}`);
    ctx.body = batchView(batch, await countsOf(batches, batch));
  });

  router.get('/:id', async (ctx) => {
    const batch = await findBatch(batches, tenantOf(ctx), ctx.params.id ?? '');
    const parsed = itemsQuery.safeParse(ctx.query);
    if (!parsed.success)
      throw new HttpError(400, 'invalid_query', parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; '));
    const { cursor, limit } = parsed.data;
    const page = await batches.items.find({
      where: { batchId: batch.id },
      limit: limit + 1,
      ...(cursor === undefined ? {} : { after: cursor }),
    });
    ctx.set('Cache-Control', 'no-cache');
    ctx.body = {
      ...batchView(batch, await countsOf(batches, batch)),
      items: page.slice(0, limit).map((item) => batchItemView(batch.id, item)),
      next: page.length > limit ? (page[limit - 1]?.id ?? null) : null,
    };
  });

  router.get('/:id/events', async (ctx) => {
    streamProgress(ctx, batches, await findBatch(batches, tenantOf(ctx), ctx.params.id ?? ''));
  });

  router.get('/:id/items/:index/:file', async (ctx) => {
    const batch = await findBatch(batches, tenantOf(ctx), ctx.params.id ?? '');
    const index = itemIndexSchema.safeParse(ctx.params.index).data;
    const item = index === undefined ? null : await batches.items.get(batchItemId(batch.id, index));
    const result = item?.document.results.find((candidate) => outputFile(candidate) === ctx.params.file);
    if (result?.key === undefined) throw new HttpError(404, 'not_found', 'no such output');
    const blob = await blobs.stat(result.key);
    if (blob === null) throw new HttpError(404, 'not_found', 'the output is no longer stored');
    await sendBlob(ctx, blobs, blob, { name: `${batch.id}-${String(index)}-${result.transform}` });
  });

  return router;
}
