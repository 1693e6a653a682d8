import type { Claims } from '../lib/imaging/claimed-format.ts';
import { readFile, rm } from 'node:fs/promises';
import type { Context, Middleware, Next } from 'koa';
import { koaBody } from 'koa-body';
import getRawBody from 'raw-body';
import { HttpError } from '../lib/http/errors.ts';

export interface UploadedFile {
  readonly bytes: Buffer;
  /** The client's name for it (multipart only): kept as metadata. */
  readonly filename?: string;
  /** What the client said it is (declared type, file name): checked against the content, never used in its place. */
  readonly claims?: Claims;
}

/** The most files one multipart upload carries. */
export const MAX_FILES_PER_REQUEST = 100;
const MULTIPART_FIELD = 'file';

/** The one answer to an upload over the limit, over HTTP or from an upstream's object. */
export function tooLarge(maxBytes: number): HttpError {
  return new HttpError(413, 'payload_too_large', `an upload may be at most ${maxBytes} bytes`, { maxBytes });
}

/** formidable's errors carry the status it meant in `httpCode`. */
function multipartError(error: Error & { httpCode?: number }, maxBytes: number): HttpError {
  if (error.httpCode === 413) return tooLarge(maxBytes);
  return new HttpError(400, 'malformed_multipart', `the multipart body could not be read: ${error.message}`);
}

/**
 * Rejects a declared Content-Length over the limit before reading a byte;
 * without one (chunked), the readers below stop at the limit while streaming.
 */
function rejectOversizedUploads(limit: () => number) {
  return async (ctx: Context, next: Next): Promise<void> => {
    const maxBytes = limit();
    const declared = Number(ctx.get('content-length') || '0');
    if (declared > maxBytes) {
      ctx.set('Connection', 'close');
      throw tooLarge(maxBytes);
    }
    await next();
  };
}

/**
 * Each file's place in its request. formidable lists a request's files as
 * their temporary files finish writing, which under load is not always the
 * order they were sent in; it starts them in that order.
 */
const positionInRequest = new WeakMap<object, number>();

/** Parses multipart bodies into temporary files (formidable), enforcing the limits as it streams. */
function multipartUploads(maxBytes: number) {
  let begun = 0;
  return koaBody({
    multipart: true,
    json: false,
    urlencoded: false,
    text: false,
    formidable: {
      maxFiles: MAX_FILES_PER_REQUEST,
      maxFileSize: maxBytes,
      maxTotalFileSize: maxBytes,
      maxFields: 10,
      allowEmptyFiles: false,
      onFileBegin: (_field, file) => {
        positionInRequest.set(file, begun++);
      },
    },
    onError: (error) => {
      throw multipartError(error, maxBytes);
    },
  });
}

async function takeMultipartFiles(ctx: Context): Promise<UploadedFile[]> {
  const entry = ctx.request.files?.[MULTIPART_FIELD];
  const parts = (entry === undefined ? [] : Array.isArray(entry) ? entry : [entry]).sort(
    (one, other) => (positionInRequest.get(one) ?? 0) - (positionInRequest.get(other) ?? 0),
  );
  const others = Object.keys(ctx.request.files ?? {}).filter((field) => field !== MULTIPART_FIELD);
  try {
    if (parts.length === 0) {
      throw new HttpError(400, 'no_file', `a multipart upload carries its images in fields named "${MULTIPART_FIELD}"`, {
        fields: others,
      });
    }
    return await Promise.all(
      parts.map(async (part) => ({
        bytes: await readFile(part.filepath),
        ...(part.originalFilename === null ? {} : { filename: part.originalFilename.slice(0, 255) }),
        claims: {
          ...(part.originalFilename === null ? {} : { filename: part.originalFilename }),
          ...(part.mimetype === null ? {} : { contentType: part.mimetype }),
        },
      })),
    );
  } finally {
    const all = Object.values(ctx.request.files ?? {}).flat();
    await Promise.all(all.map((part) => rm(part.filepath, { force: true })));
  }
}

async function readRawBody(ctx: Context, maxBytes: number): Promise<UploadedFile[]> {
  try {
    return [{ bytes: await getRawBody(ctx.req, { limit: maxBytes }), claims: { contentType: ctx.get('content-type') } }];
  } catch (error) {
    if ((error as { type?: string }).type === 'entity.too.large') throw tooLarge(maxBytes);
    throw new HttpError(400, 'unreadable_body', 'the request body could not be read');
  }
}

/** The files of an upload: multipart field `file` (one or many), or a raw body with an image content type. */
export async function readUploadedFiles(ctx: Context, maxBytes: number): Promise<UploadedFile[]> {
  if (typeof ctx.is('multipart') === 'string') return takeMultipartFiles(ctx);
  if (typeof ctx.is('image/*', 'application/octet-stream') === 'string') return readRawBody(ctx, maxBytes);
  throw new HttpError(
    415,
    'unsupported_media_type',
    'upload an image as multipart/form-data (field "file") or as a raw body with an image content type',
    {
      contentType: ctx.get('content-type') || null,
    },
  );
}

/**
 * The middleware of a route that takes uploads, before its handler: the size
 * limit in force from Content-Length, then multipart parsing when the body is multipart.
 */
export function uploadBody(maxBytes: () => number): Middleware[] {
  return [
    rejectOversizedUploads(maxBytes),
    async (ctx, next) => {
      if (typeof ctx.is('multipart') === 'string') await multipartUploads(maxBytes())(ctx, next);
      else await next();
    },
  ];
}
