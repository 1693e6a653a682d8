import { EXTENSIONS } from '../lib/imaging/formats.ts';
import type { Batch, BatchCounts, BatchItem } from '@progimage/transform-language';
import type { BatchItemRecord, BatchRecord } from './batch-record.ts';

export type { BatchCounts } from '@progimage/transform-language';

export const batchStatus = (batch: BatchRecord, counts: BatchCounts): 'accepting' | 'running' | 'completed' =>
  batch.published < batch.total ? 'accepting' : counts.pending === 0 ? 'completed' : 'running';

/** The name an item's output is served under: `<transform>.<ext>`. */
export const outputFile = (result: BatchItemRecord['results'][number]): string => `${result.transform}.${EXTENSIONS[result.format]}`;

export function batchItemView(batchId: string, item: BatchItemRecord): BatchItem {
  return {
    index: item.index,
    status: item.status,
    completedAt: item.completedAt,
    failure: item.failure ?? null,
    results: item.results.map((result) => ({
      transform: result.transform,
      format: result.format,
      width: result.width,
      height: result.height,
      bytes: result.bytes,
      url: result.key === undefined ? null : `/v1/batches/${batchId}/items/${item.index}/${outputFile(result)}`,
    })),
  };
}

/** The public JSON of a batch (the client package's `Batch`): its counts, and where to follow it. */
export function batchView(batch: BatchRecord, counts: BatchCounts): Batch {
  return {
    id: batch.id,
    status: batchStatus(batch, counts),
    createdAt: batch.createdAt,
    store: batch.store,
    transforms: batch.transforms,
    counts,
    links: { self: `/v1/batches/${batch.id}`, events: `/v1/batches/${batch.id}/events` },
  };
}
