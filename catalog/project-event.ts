import type { ImageEvent } from '../lib/events/envelope.ts';
import { TOPICS } from '../lib/events/topics.ts';
import type { ImageRecord, ImageStatus } from './image-record.ts';

type Fields = Omit<ImageRecord, 'id' | 'tenant' | 'status' | 'createdAt' | 'updatedAt'>;

/**
 * The status follows from what the stages reported; the worst news wins.
 * Progress counts only along an unbroken chain of stages: the catalog reads
 * several topics, so a later stage's event can be projected before an earlier
 * one's, and an image is not ready until every stage before it is recorded.
 */
export function statusOf(record: Fields): ImageStatus {
  if (record.deletedAt !== undefined) return 'deleted';
  if (record.scan?.verdict === 'infected') return 'infected';
  if (record.failure !== undefined) return 'failed';
  if (record.scan === undefined) return 'uploaded';
  if (record.master === undefined) return record.scan.verdict;
  if (record.compression === undefined) return 'stripped';
  if (record.variants === undefined) return 'compressed';
  return 'ready';
}

/** The fields an event sets, or null for an event the catalog does not record. */
function fieldsOf(event: ImageEvent): Partial<Fields> | null {
  const at = event.time;
  switch (event.type) {
    case TOPICS.imageUploaded: {
      const { originalKey, ...original } = event.payload;
      return { original: { key: originalKey, ...original, at } };
    }
    case TOPICS.imageScanned: {
      const { original, ...scan } = event.payload;
      return { scan: { ...scan, at } };
    }
    case TOPICS.imageStripped:
      return { master: { ...event.payload.master, at } };
    case TOPICS.imageCompressed:
      return { compression: { ...event.payload, at } };
    case TOPICS.imageVariantsBuilt:
      return { variants: { items: event.payload.variants, at } };
    case TOPICS.imageFailed:
      return { failure: { ...event.payload, at } };
    case TOPICS.ingestRequested:
    case TOPICS.transformRequested:
    case TOPICS.transformCompleted:
      return null;
  }
}

/**
 * Applies one event to an image's record (null: not seen yet). Returns the
 * new record, or null when the event changes nothing: a field already set is
 * never overwritten, and a deleted image takes no more events. Events may
 * arrive in any order across topics; the status is recomputed each time.
 */
export function projectEvent(record: ImageRecord | null, event: ImageEvent): ImageRecord | null {
  const fields = fieldsOf(event);
  if (fields === null || record?.deletedAt !== undefined) return null;
  const fresh = Object.fromEntries(
    Object.entries(fields).filter(([name]) => record?.[name as keyof Fields] === undefined),
  ) as Partial<Fields>;
  if (Object.keys(fresh).length === 0) return null;
  const base = record ?? { id: event.imageId, tenant: event.tenant, createdAt: event.time, updatedAt: event.time };
  const merged = { ...base, ...fresh };
  return {
    ...merged,
    status: statusOf(merged),
    createdAt: base.createdAt < event.time ? base.createdAt : event.time,
    updatedAt: new Date().toISOString(),
  };
}

/** Marks a record deleted; its blobs are removed by the caller. */
export function markDeleted(record: ImageRecord): ImageRecord {
  const now = new Date().toISOString();
  return { ...record, deletedAt: now, status: 'deleted', updatedAt: now };
}
