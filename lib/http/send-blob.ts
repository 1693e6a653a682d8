import type { Context } from 'koa';
import type { BlobInfo, BlobStore } from '../ports/blob-store.ts';

/** Derived content never changes under its URL: a new master means a new image id. */
const IMMUTABLE = 'public, max-age=31536000, immutable';

export const etagOf = (blob: BlobInfo): string => `"${blob.sha256}"`;

/** The headers of every served blob, whatever its status: strong ETag, long-lived caching, nosniff. */
export function blobHeaders(etag: string): Record<string, string> {
  return { ETag: etag, 'Cache-Control': IMMUTABLE, 'X-Content-Type-Options': 'nosniff' };
}

/** True when an If-None-Match header names this entity tag (or is "*"). */
export function etagMatches(header: string, etag: string): boolean {
  if (header.trim() === '*') return true;
  return header.split(',').some((candidate) => candidate.trim().replace(/^W\//, '') === etag);
}

/**
 * Sends a stored blob with a strong ETag (its sha256), long-lived caching,
 * nosniff, and 304 Not Modified when the client already has it. `data`, when
 * the bytes are already in memory, is sent instead of streaming from the store.
 */
export async function sendBlob(ctx: Context, blobs: BlobStore, blob: BlobInfo, data?: Buffer): Promise<void> {
  const etag = etagOf(blob);
  ctx.set(blobHeaders(etag));
  const ifNoneMatch = ctx.get('if-none-match');
  if (ifNoneMatch !== '' && etagMatches(ifNoneMatch, etag)) {
    ctx.status = 304;
    return;
  }
  ctx.type = blob.contentType;
  ctx.length = blob.size;
  ctx.body = ctx.method === 'HEAD' ? null : (data ?? (await blobs.getStream(blob.key)));
}
