import { randomUUID } from 'node:crypto';
import { ProgImageError } from './errors.ts';
import { serverSentEvents } from './server-sent-events.ts';
import type { RequestOptions, Transport } from './transport.ts';
import type { Batch, BatchEvent, BatchPage, BatchRequest } from '@progimage/transform-language';
import { jsonBody } from './upload-body.ts';

export interface CreateBatchOptions extends RequestOptions {
  /** A retry with the same key returns the same batch; one is made for every call that does not name its own. */
  readonly idempotencyKey?: string;
}

export interface GetBatchOptions extends RequestOptions {
  /** Items per page, 1-500 (100). */
  readonly limit?: number;
  /** The `next` of the previous page. */
  readonly cursor?: string;
}

/** pi.batches: bulk transformations of stored images or URLs. */
export class Batches {
  constructor(private readonly transport: Transport) {}

  /** Accepts a batch; its items are done in the background. */
  create(request: BatchRequest, options: CreateBatchOptions = {}): Promise<Batch> {
    const { idempotencyKey = randomUUID(), ...rest } = options;
    const body = jsonBody(request);
    return this.transport.json<Batch>(
      {
        method: 'POST',
        path: '/v1/batches',
        headers: { ...body.headers, 'Idempotency-Key': idempotencyKey },
        body: body.body,
        retriable: true,
      },
      rest,
    );
  }

  /** The batch's counts and one page of its items. */
  get(id: string, options: GetBatchOptions = {}): Promise<BatchPage> {
    const { limit, cursor, ...rest } = options;
    const query = new URLSearchParams();
    if (limit !== undefined) query.set('limit', String(limit));
    if (cursor !== undefined) query.set('cursor', cursor);
    return this.transport.json<BatchPage>({ method: 'GET', path: `/v1/batches/${encodeURIComponent(id)}`, query, retriable: true }, rest);
  }

  /**
   * The batch's progress as it happens: a `progress` event whenever its counts
   * change, then `completed`, after which the iteration ends. No timeout
   * unless one is given.
   */
  async *watch(id: string, options: RequestOptions = {}): AsyncGenerator<BatchEvent, void, undefined> {
    const response = await this.transport.send(
      { method: 'GET', path: `/v1/batches/${encodeURIComponent(id)}/events`, headers: { Accept: 'text/event-stream' }, retriable: true },
      { timeout: Infinity, ...options },
    );
    if (response.body === null) throw new ProgImageError('the event stream has no body');
    for await (const { event, data } of serverSentEvents(response.body)) {
      if (event === 'error') throw new ProgImageError(`batch ${id}: ${(JSON.parse(data) as { message?: string }).message ?? data}`);
      if (event !== 'progress' && event !== 'completed') continue;
      yield { type: event, batch: JSON.parse(data) as Batch };
      if (event === 'completed') return;
    }
    throw new ProgImageError(`batch ${id}: the event stream ended before the batch completed`);
  }
}
