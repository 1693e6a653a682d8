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

export interface PutOptions {
  readonly contentType: string;
}

export class BlobNotFoundError extends ProgImageError {
  constructor(readonly key: string) {
    super(`no blob at ${key}`, { retriable: false });
  }
}

/**
 * Blob keys are made by ProgImage only: segments of [A-Za-z0-9._-] joined by
 * "/", never "." or ".." — so a key is always safe as a path or an object name.
 */
export const BLOB_KEY_PATTERN = /^(?!.*(?:^|\/)\.{1,2}(?:\/|$))[A-Za-z0-9._-]+(?:\/[A-Za-z0-9._-]+)*$/;

export class InvalidBlobKeyError extends ProgImageError {
  constructor(readonly key: string) {
    super(`not a valid blob key: ${JSON.stringify(key)}`, { retriable: false });
  }
}

export function assertBlobKey(key: string): void {
  if (key.length > 1024 || !BLOB_KEY_PATTERN.test(key)) throw new InvalidBlobKeyError(key);
}

/** The blob store port: whole objects under keys, written atomically (a reader never sees half a blob). */
export interface BlobStore {
  /** Stores `body` under `key`, replacing what was there. */
  put(key: string, body: Buffer, options: PutOptions): Promise<BlobInfo>;
  /** @throws BlobNotFoundError */
  get(key: string): Promise<Buffer>;
  /** @throws BlobNotFoundError */
  getStream(key: string): Promise<Readable>;
  /** Null when there is no blob at `key`. */
  stat(key: string): Promise<BlobInfo | null>;
  /** Copies then deletes; afterwards only `to` exists. Idempotent: a move already done succeeds. */
  move(from: string, to: string): Promise<void>;
  /** Idempotent: deleting a missing key succeeds. */
  delete(key: string): Promise<void>;
  /** Every blob whose key starts with `prefix`, in key order. */
  list(prefix: string): AsyncIterable<BlobInfo>;
  checkHealth(): Promise<void>;
}
