import { hash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { ProgImageError } from '../errors.ts';

export interface BlobInfo {
  readonly key: string;
  readonly size: number;
  readonly contentType: string;
  /** Hex sha256 of the content, computed at put: the material of strong ETags. */
  readonly sha256: string;
  readonly lastModified: Date;
}

/**
 * What a put tells of the blob it stored. Not its Last-Modified: S3 does not
 * return it on PUT, and reading it back would cost every put a second request;
 * `stat` gives it.
 */
export type StoredBlob = Omit<BlobInfo, 'lastModified'>;

/** What `BlobInfo.sha256` is of `body`: every store computes it so. */
export const contentSha256 = (body: Buffer): string => hash('sha256', body, 'hex');

/** Bytes `start` to `end` of a blob, both included (an HTTP byte range). */
export interface ByteRange {
  readonly start: number;
  readonly end: number;
}

export interface PutOptions {
  readonly contentType: string;
}

export class BlobNotFoundError extends ProgImageError {
  constructor(readonly key: string) {
    super(`no blob at ${key}`, { retriable: false });
  }
}

/**
 * Blob keys are made by ProgImage only: segments of 1 to 200 [A-Za-z0-9._-]
 * joined by "/", never "." or "..", at most 1024 characters in all — so a key
 * is always safe as a path or an object name (file names, and MinIO's key
 * segments, stop at 255 bytes; the folder store adds a suffix to file names).
 * A key is never the folder of another ("a" and "a/b" never both hold blobs):
 * MinIO accepts both, then leaves "a/b" out of every listing
 * (https://min.io/docs/minio/linux/operations/concepts/thresholds.html#conflicting-objects).
 */
export const BLOB_KEY_PATTERN = /^(?!.*(?:^|\/)\.{1,2}(?:\/|$))[A-Za-z0-9._-]{1,200}(?:\/[A-Za-z0-9._-]{1,200})*$/;

export class InvalidBlobKeyError extends ProgImageError {
  constructor(readonly key: string) {
    super(`not a valid blob key: ${JSON.stringify(key)}`, { retriable: false });
  }
}

const isBlobKey = (key: string): boolean => key.length <= 1024 && BLOB_KEY_PATTERN.test(key);

export function assertBlobKey(key: string): void {
  if (!isBlobKey(key)) throw new InvalidBlobKeyError(key);
}

/** A prefix for `list` is the start of some valid key ("" lists everything, "a/b/" lists what is under a/b). */
export function assertBlobKeyPrefix(prefix: string): void {
  if (prefix !== '' && !isBlobKey(prefix) && !isBlobKey(`${prefix}x`)) throw new InvalidBlobKeyError(prefix);
}

/** The blob store port: whole objects under keys, written atomically (a reader never sees half a blob). */
export interface BlobStore {
  /** Stores `body` under `key`, replacing what was there. */
  put(key: string, body: Buffer, options: PutOptions): Promise<StoredBlob>;
  /** @throws BlobNotFoundError */
  get(key: string): Promise<Buffer>;
  /**
   * The blob's bytes, or only those of `range` (which must lie within the blob).
   * @throws BlobNotFoundError
   */
  getStream(key: string, range?: ByteRange): Promise<Readable>;
  /** Null when there is no blob at `key`. */
  stat(key: string): Promise<BlobInfo | null>;
  /** Copies then deletes; afterwards only `to` exists. Idempotent: a move already done succeeds. */
  move(from: string, to: string): Promise<void>;
  /** Idempotent: deleting a missing key succeeds. */
  delete(key: string): Promise<void>;
  /**
   * Every blob whose key starts with `prefix` (plain string prefix: "a/b" also
   * yields "a/bc", "a/b/" does not), in key order (byte order, as S3 lists).
   * @throws InvalidBlobKeyError when no valid key starts with `prefix`
   */
  list(prefix: string): AsyncIterable<BlobInfo>;
  checkHealth(): Promise<void>;
}
