import type { EventOf } from '../lib/events/envelope.ts';
import type { TOPICS } from '../lib/events/topics.ts';
import type { CatalogStore, DocumentCollection } from '../lib/ports/catalog-store.ts';
import { batchItemId, batchItemRecordSchema, batchRecordSchema, type BatchItemRecord, type BatchRecord } from './batch-record.ts';

export interface BatchCollections {
  readonly batches: DocumentCollection<BatchRecord>;
  readonly items: DocumentCollection<BatchItemRecord>;
}

export async function openBatchCollections(store: CatalogStore): Promise<BatchCollections> {
  return {
    batches: await store.collection({ name: 'batches', schema: batchRecordSchema }),
    items: await store.collection({ name: 'batch_items', schema: batchItemRecordSchema, indexes: [['batchId', 'status']] }),
  };
}

/** Records an item's outcome; the first outcome recorded stands (a redelivered event changes nothing). */
export async function recordItem(items: BatchCollections['items'], event: EventOf<typeof TOPICS.transformCompleted>): Promise<void> {
  const { batchId, index, results, failure } = event.payload;
  // An insert: it does nothing (resolves null) when the item is recorded already.
  await items.save(
    {
      id: batchItemId(batchId, index),
      batchId,
      tenant: event.tenant,
      index,
      status: failure === undefined ? 'done' : 'failed',
      results,
      ...(failure === undefined ? {} : { failure }),
      completedAt: event.time,
    },
    null,
  );
}
