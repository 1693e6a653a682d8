import type { EventOf, ImageEvent } from '../lib/events/envelope.ts';
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
    case TOPICS.ingestAdmitted:
    case TOPICS.imageRescanRequested:
    case TOPICS.imageRescanned:
    case TOPICS.imageExpired:
    case TOPICS.imageDeduplicated:
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
  if (event.type === TOPICS.imageRescanned) return projectRescan(record, event);
  if (event.type === TOPICS.imageDeduplicated) return projectDeduplication(record, event);
  const fields = fieldsOf(event);
  if (fields === null || record?.deletedAt !== undefined) return null;
  const fresh = Object.fromEntries(
    Object.entries(fields).filter(([name]) => record?.[name as keyof Fields] === undefined),
  ) as Partial<Fields>;
  if (Object.keys(fresh).length === 0) return null;
  const base = record ?? { id: event.imageId, tenant: event.tenant, createdAt: event.time, updatedAt: event.time, outcomesAnnounced: [] };
  const merged = { ...base, ...fresh };
  return {
    ...merged,
    status: statusOf(merged),
    createdAt: base.createdAt < event.time ? base.createdAt : event.time,
    updatedAt: new Date().toISOString(),
  };
}

/**
 * A re-scan's verdict replaces an older verdict (a replayed or late re-scan
 * changes nothing). An infected image stays infected: its original is in
 * quarantine, and only an operator may bring it back.
 */
function projectRescan(record: ImageRecord | null, event: EventOf<typeof TOPICS.imageRescanned>): ImageRecord | null {
  const scan = record?.scan;
  if (record === null || scan === undefined || record.deletedAt !== undefined) return null;
  if (scan.verdict === 'infected' || scan.at >= event.time) return null;
  const { original, ...verdict } = event.payload;
  const merged = { ...record, scan: { ...verdict, at: event.time } };
  return { ...merged, status: statusOf(merged), updatedAt: new Date().toISOString() };
}

/**
 * Repoints a ready image at the blobs of an image with the same original, so
 * that its own become surplus. Only a ready, clean image whose original has
 * that sha256 is repointed; a repeat changes nothing.
 */
function projectDeduplication(record: ImageRecord | null, event: EventOf<typeof TOPICS.imageDeduplicated>): ImageRecord | null {
  const { canonicalId, sha256, originalKey, master, compressedMaster, variants } = event.payload;
  if (record?.status !== 'ready' || record.original?.sha256 !== sha256 || record.blobsOf === canonicalId) return null;
  const { original, compression, variants: built } = record;
  if (record.master === undefined || compression === undefined || built === undefined || record.id === canonicalId) return null;
  return {
    ...record,
    original: { ...original, key: originalKey },
    master: { ...master, at: record.master.at },
    compression: { ...compression, master: compressedMaster },
    variants: { ...built, items: variants },
    blobsOf: canonicalId,
    updatedAt: new Date().toISOString(),
  };
}

/** Marks a record deleted; its blobs are removed by the caller. */
export function markDeleted(record: ImageRecord): ImageRecord {
  const now = new Date().toISOString();
  return { ...record, deletedAt: now, status: 'deleted', updatedAt: now };
}
