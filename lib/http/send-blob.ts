import type { Context } from 'koa';
import { signatureExpiresOf } from './admission.ts';
import type { BlobInfo, BlobStore } from '../ports/blob-store.ts';
import { imageCacheControl } from './cache-control.ts';
import { downloadDisposition } from './download.ts';
import { HttpError } from './errors.ts';
import { answerImageRequest, imageRequest, type Representation } from './image-answer.ts';

const etagOf = (blob: BlobInfo): string => `"${blob.sha256}"`;

export interface SendBlobOptions {
  /** The bytes, when they are in memory already; otherwise they are streamed from the store. */
  readonly data?: Buffer | undefined;
  /** The file name a download gets when `?download` names none (without extension). */
  readonly name: string;
}

/**
 * Sends a stored blob as image bytes (see answerImageRequest): a strong ETag
 * (its sha256), Last-Modified, caching that lasts no longer than a signed
 * URL, nosniff, a download's Content-Disposition; 304, 206 and HEAD as a
 * CDN expects, and 416 as a JSON error. Returns the representation sent.
 */
export async function sendBlob(ctx: Context, blobs: BlobStore, blob: BlobInfo, { data, name }: SendBlobOptions): Promise<Representation> {
  const representation: Representation = {
    etag: etagOf(blob),
    lastModified: blob.lastModified,
    size: blob.size,
    contentType: blob.contentType,
    disposition: downloadDisposition(ctx.query, name, blob.contentType),
  };
  const answer = answerImageRequest(imageRequest(ctx.method, ctx.headers), representation, imageCacheControl(signatureExpiresOf(ctx)));
  if (answer.status === 416) {
    throw new HttpError(
      416,
      'range_not_satisfiable',
      `the range asks for none of the image's ${blob.size} bytes`,
      { size: blob.size },
      answer.headers,
    );
  }
  // The bytes are opened before anything is set: a store that fails leaves a clean error response.
  const body =
    answer.status === 206
      ? (data?.subarray(answer.range.start, answer.range.end + 1) ?? (await blobs.getStream(blob.key, answer.range)))
      : answer.status === 200 && answer.withBody
        ? (data ?? (await blobs.getStream(blob.key)))
        : undefined;
  ctx.status = answer.status;
  ctx.set(answer.headers);
  if (body !== undefined) ctx.body = body;
  return representation;
}
