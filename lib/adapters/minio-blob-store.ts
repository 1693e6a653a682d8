import type { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { CopyDestinationOptions, CopySourceOptions, type BucketItem, type BucketItemStat, type Client } from 'minio';
import type { S3Config } from '../config/index.ts';
import { DependencyUnavailableError } from '../errors.ts';
import {
  BlobNotFoundError,
  assertBlobKey,
  assertBlobKeyPrefix,
  contentSha256,
  type BlobInfo,
  type BlobStore,
  type ByteRange,
  type PutOptions,
  type StoredBlob,
} from '../ports/blob-store.ts';
import { createS3Client } from '../s3/client.ts';

/** User metadata under which `put` keeps the content's sha256 (sent as x-amz-meta-sha256). */
const SHA256_METADATA = 'sha256';

/** How many `stat`s `list` keeps in flight ahead of the consumer. */
const LIST_STAT_CONCURRENCY = 8;

/** Socket-level failures: the server did not answer. */
const CONNECTION_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/** S3 answers that mean "not now" rather than "never". */
const UNAVAILABLE_S3_CODES = new Set([
  'InternalError',
  'ServiceUnavailable',
  'SlowDown',
  'RequestTimeout',
  'XMinioServerNotInitialized',
  'XMinioReadQuorum',
  'XMinioWriteQuorum',
]);

const NOT_FOUND_CODES = new Set(['NotFound', 'NoSuchKey']);

const errorCode = (error: unknown): unknown => (typeof error === 'object' && error !== null && 'code' in error ? error.code : undefined);

const isNotFound = (error: unknown): boolean => NOT_FOUND_CODES.has(String(errorCode(error)));

function isUnavailable(error: unknown): boolean {
  const code = String(errorCode(error));
  if (CONNECTION_ERROR_CODES.has(code) || UNAVAILABLE_S3_CODES.has(code)) return true;
  // Node's happy-eyeballs connect reports an AggregateError of one failure per address.
  return error instanceof AggregateError && error.errors.some(isUnavailable);
}

/** Connection problems become DependencyUnavailableError (retriable); everything else is passed on as it is. */
function mapError(error: unknown, doing: string): unknown {
  if (!isUnavailable(error)) return error;
  const reason = error instanceof Error ? error.message || String(errorCode(error)) : String(error);
  return new DependencyUnavailableError(`S3 did not answer while ${doing}: ${reason}`, error);
}

/**
 * `work`, or a DependencyUnavailableError once `timeoutMs` passes: the
 * client has no timeout of its own, and a server that accepts connections but
 * never answers would otherwise hold the caller forever.
 */
async function withinDeadline<T>(work: Promise<T>, doing: string, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new DependencyUnavailableError(`S3 did not answer within ${timeoutMs / 1000} s while ${doing}`));
    }, timeoutMs);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The blob store on MinIO or any S3: one object per blob in one bucket, its
 * content type as the object's Content-Type and its sha256 as user metadata.
 * S3 makes every PUT atomic, so a reader never sees half a blob.
 */
export class MinioBlobStore implements BlobStore {
  constructor(
    private readonly client: Client,
    private readonly bucket: string,
    /** The deadline of every call (S3Config.timeoutMs). */
    private readonly timeoutMs: number,
  ) {}

  /**
   * One PUT, signed with the sha256 computed here for the metadata. The
   * client's putObject would hash the body twice more (its own sha256 for the
   * signature and an MD5 it sends only over TLS): 2 ms of CPU per megabyte.
   * Over TLS the payload goes unsigned (UNSIGNED-PAYLOAD, as putObject's does)
   * and without a Content-MD5: TLS guards it in transit.
   */
  async put(key: string, body: Buffer, options: PutOptions): Promise<StoredBlob> {
    assertBlobKey(key);
    const sha256 = contentSha256(body);
    const headers = { 'Content-Type': options.contentType, 'Content-Length': body.length, [`x-amz-meta-${SHA256_METADATA}`]: sha256 };
    await this.call(`storing ${key}`, async () => {
      const response = await this.client.makeRequestStreamAsync(
        { method: 'PUT', bucketName: this.bucket, objectName: key, headers },
        body,
        this.client.enableSHA256 ? sha256 : '',
        [200],
        '',
      );
      await finished(response.resume());
    });
    return { key, size: body.length, contentType: options.contentType, sha256 };
  }

  async get(key: string): Promise<Buffer> {
    const stream = await this.getStream(key);
    return await this.call(`reading ${key}`, async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(chunk);
      return Buffer.concat(chunks);
    });
  }

  async getStream(key: string, range?: ByteRange): Promise<Readable> {
    assertBlobKey(key);
    try {
      const reading =
        range === undefined
          ? this.client.getObject(this.bucket, key)
          : this.client.getPartialObject(this.bucket, key, range.start, range.end - range.start + 1);
      return await withinDeadline(reading, `reading ${key}`, this.timeoutMs);
    } catch (error) {
      if (isNotFound(error)) throw new BlobNotFoundError(key);
      throw mapError(error, `reading ${key}`);
    }
  }

  async stat(key: string): Promise<BlobInfo | null> {
    assertBlobKey(key);
    const stat = await this.statObject(key);
    return stat === null ? null : await this.toBlobInfo(key, stat);
  }

  async move(from: string, to: string): Promise<void> {
    assertBlobKey(from);
    assertBlobKey(to);
    if (from === to) {
      if ((await this.statObject(from)) === null) throw new BlobNotFoundError(from);
      return;
    }
    try {
      await withinDeadline(
        this.client.copyObject(
          new CopySourceOptions({ Bucket: this.bucket, Object: from }),
          new CopyDestinationOptions({ Bucket: this.bucket, Object: to }),
        ),
        `copying ${from} to ${to}`,
        this.timeoutMs,
      );
    } catch (error) {
      if (!isNotFound(error)) throw mapError(error, `copying ${from} to ${to}`);
      // The source is gone: this move was already done, unless there is nothing at the target either.
      if ((await this.statObject(to)) === null) throw new BlobNotFoundError(from);
      return;
    }
    await this.delete(from);
  }

  async delete(key: string): Promise<void> {
    assertBlobKey(key);
    try {
      await withinDeadline(this.client.removeObject(this.bucket, key), `deleting ${key}`, this.timeoutMs);
    } catch (error) {
      if (!isNotFound(error)) throw mapError(error, `deleting ${key}`);
    }
  }

  /**
   * S3 listings carry neither the content type nor the user metadata, so each
   * listed object is stat-ed (a few at a time, in order): every field is exact.
   * An object deleted between the listing and its stat is left out.
   */
  async *list(prefix: string): AsyncIterable<BlobInfo> {
    assertBlobKeyPrefix(prefix);
    const listing = (this.client.listObjectsV2(this.bucket, prefix, true) as AsyncIterable<BucketItem, undefined>)[Symbol.asyncIterator]();
    const ahead: Promise<BlobInfo | null>[] = [];
    const next = async (): Promise<BlobInfo | null> => {
      const info = ahead.shift();
      return info === undefined ? null : await info;
    };
    try {
      // Each page of the listing has the deadline of a call; the stream is closed however the loop ends.
      for (;;) {
        const { done, value: item } = await withinDeadline(listing.next(), `listing ${prefix}`, this.timeoutMs);
        if (done === true) break;
        if (item.name === undefined) continue; // a common prefix: not listed when recursive
        const info = this.stat(item.name);
        info.catch(() => undefined); // awaited in turn below; this only keeps a failure from being reported as unhandled
        ahead.push(info);
        if (ahead.length >= LIST_STAT_CONCURRENCY) {
          const first = await next();
          if (first !== null) yield first;
        }
      }
    } catch (error) {
      throw mapError(error, `listing ${prefix}`);
    } finally {
      void listing.return?.();
    }
    while (ahead.length > 0) {
      const info = await next();
      if (info !== null) yield info;
    }
  }

  async checkHealth(): Promise<void> {
    const exists = await this.call(`checking bucket ${this.bucket}`, () => this.client.bucketExists(this.bucket));
    if (!exists) throw new DependencyUnavailableError(`bucket ${this.bucket} does not exist`);
  }

  /** Creates the bucket unless it exists; safe when several services start at once. */
  async ensureBucket(region: string): Promise<void> {
    const exists = await this.call(`checking bucket ${this.bucket}`, () => this.client.bucketExists(this.bucket));
    if (exists) return;
    try {
      await withinDeadline(this.client.makeBucket(this.bucket, region), `creating bucket ${this.bucket}`, this.timeoutMs);
    } catch (error) {
      if (errorCode(error) !== 'BucketAlreadyOwnedByYou') throw mapError(error, `creating bucket ${this.bucket}`);
    }
  }

  private async statObject(key: string): Promise<BucketItemStat | null> {
    try {
      return await withinDeadline(this.client.statObject(this.bucket, key), `reading the metadata of ${key}`, this.timeoutMs);
    } catch (error) {
      if (isNotFound(error)) return null;
      throw mapError(error, `reading the metadata of ${key}`);
    }
  }

  private async toBlobInfo(key: string, stat: BucketItemStat): Promise<BlobInfo | null> {
    const metadata = stat.metaData as Readonly<Record<string, unknown>>;
    const contentType = metadata['content-type'];
    const sha256 = metadata[SHA256_METADATA];
    const info = {
      key,
      size: stat.size,
      contentType: typeof contentType === 'string' ? contentType : 'application/octet-stream',
      lastModified: stat.lastModified,
    };
    if (typeof sha256 === 'string') return { ...info, sha256 };
    // Only objects written by something else than `put` lack it: hash their content then.
    try {
      return { ...info, sha256: contentSha256(await this.get(key)) };
    } catch (error) {
      if (error instanceof BlobNotFoundError) return null;
      throw error;
    }
  }

  private async call<T>(doing: string, request: () => Promise<T>): Promise<T> {
    try {
      return await withinDeadline(request(), doing, this.timeoutMs);
    } catch (error) {
      throw mapError(error, doing);
    }
  }
}

/** The blob store on the configured S3 bucket, which is created if it does not exist yet. */
export async function createMinioBlobStore(config: S3Config): Promise<MinioBlobStore> {
  const store = new MinioBlobStore(createS3Client(config), config.bucket, config.timeoutMs);
  await store.ensureBucket(config.region);
  return store;
}
