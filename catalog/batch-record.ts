import { z } from 'zod';
import { transformResultSchema } from '../lib/events/payloads.ts';
import { imageIdSchema, tenantSchema } from '../lib/ids.ts';

const at = z.iso.datetime();

/** A batch as it was asked for; its items' outcomes are documents of their own. */
export const batchRecordSchema = z.object({
  id: imageIdSchema,
  tenant: tenantSchema,
  createdAt: at,
  /** Items in the request, whatever has happened to them. */
  total: z.number().int().nonnegative(),
  /** Items published so far: a batch whose creation was interrupted is resumed from here by a retry. */
  published: z.number().int().nonnegative(),
  store: z.boolean(),
  transforms: z.array(z.record(z.string(), z.unknown())),
  /** The sha256 of the request, to refuse an Idempotency-Key reused for another request. */
  requestHash: z.string(),
});
export type BatchRecord = z.infer<typeof batchRecordSchema>;

/** What became of one item: the catalog's projection of its transform.completed event. */
export const batchItemRecordSchema = z.object({
  /** `<batch id>:<index, zero-padded>`, so an item list in id order is in request order. */
  id: z.string(),
  batchId: imageIdSchema,
  tenant: tenantSchema,
  index: z.number().int().nonnegative(),
  status: z.enum(['done', 'failed']),
  results: z.array(transformResultSchema),
  failure: z.object({ code: z.string(), reason: z.string() }).optional(),
  completedAt: at,
});
export type BatchItemRecord = z.infer<typeof batchItemRecordSchema>;

export const batchItemId = (batchId: string, index: number): string => `${batchId}:${String(index).padStart(6, '0')}`;
