import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { setTimeout as sleep } from 'node:timers/promises';
import { ImageNotUsableError, NotFoundError, TimeoutError } from './errors.ts';
import {
  formatName,
  isSignablePath,
  MAX_EXPIRES_IN_SECONDS,
  signUrl,
  type Image,
  type ImagePage,
  type ImageStatus,
  type OutputFormat,
  type SigningSecret,
  type TransformInput,
  type UploadedImage,
} from '@progimage/transform-language';
import { imageQuery } from './transform-query.ts';
import type { RequestOptions, Transport } from './transport.ts';
import { inputBody, type BodyOptions, type ImageInput } from './upload-body.ts';

/** How long uploaded images live. */
interface TimeToLive {
  /** Seconds until the image and everything made from it are deleted; without it, the tenant's or the service's default. */
  readonly ttl?: number;
}

export interface UploadOptions extends BodyOptions, RequestOptions, TimeToLive {
  /** A retry with the same key stores nothing twice; one is made for every upload that does not name its own. */
  readonly idempotencyKey?: string;
}

export type UploadOutcome =
  | { readonly input: ImageInput; readonly ok: true; readonly image: UploadedImage }
  | { readonly input: ImageInput; readonly ok: false; readonly error: unknown };

export interface UploadProgress {
  readonly total: number;
  /** Uploads finished so far, failed ones included. */
  readonly finished: number;
  readonly failed: number;
  /** The upload that just finished. */
  readonly outcome: UploadOutcome;
}

export interface UploadManyOptions extends RequestOptions, TimeToLive {
  /** Uploads in flight at once (4). */
  readonly concurrency?: number;
  readonly onProgress?: (progress: UploadProgress) => void;
}

export interface SignedUrlOptions extends RequestOptions {
  /** Whole seconds the URL works for (3600; at most a year). */
  readonly expiresIn?: number;
}

export interface SignedUrl {
  /** Absolute: the base URL, the path, the options, and the tenant, expiry and signature parameters. */
  readonly url: string;
  readonly expiresAt: Date;
}

export interface WaitOptions {
  /** Milliseconds to wait at most (120 s). */
  readonly timeout?: number;
  readonly signal?: AbortSignal;
}

export interface ListOptions extends RequestOptions {
  readonly status?: ImageStatus;
  /** Images per page, 1-100 (50). */
  readonly limit?: number;
}

/**
 * An image in a format, transformed or not: `preset` names a configured
 * preset. The format is the URL's extension, and it is required: without one,
 * GET /v1/images/ID answers the image's metadata (and ignores any options).
 * `auto` leaves it to each request's Accept header: AVIF, WebP or the
 * image's own format, whichever the browser takes (`Vary: Accept`).
 * `download` asks for the image as a file to save under that name (the
 * server makes its extension match the format; "" names it after the image):
 * not a transform option, it changes no stored result.
 */
export type ImageUrlOptions = Omit<TransformInput, 'format'> & {
  readonly format: OutputFormat | 'jpg' | 'tif' | 'auto';
  readonly preset?: string;
  readonly download?: string;
};

const DEFAULT_CONCURRENCY = 4;
const DEFAULT_WAIT_MS = 120_000;
const FIRST_POLL_MS = 100;
const MAX_POLL_MS = 2000;
const UNUSABLE: ReadonlySet<ImageStatus> = new Set(['failed', 'infected']);

/** The path and canonical query of a stored image in a format, transformed (see imageQuery). */
function imageLocation(id: string, options: ImageUrlOptions): { readonly path: string; readonly query: URLSearchParams } {
  const { format, download, ...transform } = options;
  // Only callers without the types can leave it out.
  if (typeof (format as unknown) !== 'string')
    throw new TypeError("an image URL needs a format: without an extension the server answers the image's metadata");
  const query = imageQuery(transform, format);
  if (download !== undefined) query.append('download', download);
  return { path: `/v1/images/${encodeURIComponent(id)}.${formatName(format)}`, query };
}

/** A signed URL's path and query, and when it stops working. */
interface SignedPath {
  readonly path: string;
  readonly expiresAt: Date;
}

/** `pathAndQuery` (of the image at `path`) signed with the tenant's secret, refused where the server would refuse to sign it. */
function signedLocally({ tenant, secret }: SigningSecret, path: string, pathAndQuery: string, expiresIn: number): SignedPath {
  if (!Number.isInteger(expiresIn) || expiresIn < 1 || expiresIn > MAX_EXPIRES_IN_SECONDS) {
    throw new RangeError(`expiresIn: expected a whole number of seconds from 1 to ${MAX_EXPIRES_IN_SECONDS}`);
  }
  if (!isSignablePath(path)) throw new TypeError(`${path} cannot be signed: expected the id of a stored image`);
  const expiresAt = new Date(Date.now() + expiresIn * 1000);
  return { path: signUrl(pathAndQuery, tenant, secret, expiresAt), expiresAt };
}

/** pi.images: stored images. */
export class Images {
  constructor(
    private readonly transport: Transport,
    /** The tenant's URL-signing secret, when the client was given it. */
    private readonly signing?: SigningSecret,
  ) {}

  /**
   * Stores one image: bytes, a stream or a file (streamed), or the URL of
   * one (the server fetches it). Resolves once it is stored and in the
   * pipeline; retried when the input can be sent again.
   */
  upload(input: ImageInput, options: UploadOptions = {}): Promise<UploadedImage> {
    const body = inputBody(input, options, (url) => ({ url }));
    const headers = {
      ...body.headers,
      'Idempotency-Key': options.idempotencyKey ?? randomUUID(),
      ...(options.ttl === undefined ? {} : { 'X-ProgImage-TTL': String(options.ttl) }),
    };
    return this.transport.json<UploadedImage>(
      { method: 'POST', path: '/v1/images', headers, body: body.body, retriable: body.replayable },
      options,
    );
  }

  /** Uploads every input, `concurrency` at a time; one failure does not stop the others. Outcomes are in input order. */
  async uploadMany(inputs: readonly ImageInput[], options: UploadManyOptions = {}): Promise<UploadOutcome[]> {
    const { concurrency = DEFAULT_CONCURRENCY, onProgress, ...request } = options;
    const outcomes: UploadOutcome[] = [];
    let next = 0;
    let finished = 0;
    let failed = 0;
    const worker = async () => {
      for (let index = next++, input = inputs[index]; input !== undefined; index = next++, input = inputs[index]) {
        const outcome: UploadOutcome = await this.upload(input, request).then(
          (image) => ({ input, ok: true, image }) as const,
          (error: unknown) => ({ input, ok: false, error }) as const,
        );
        outcomes[index] = outcome;
        finished += 1;
        if (!outcome.ok) failed += 1;
        onProgress?.({ total: inputs.length, finished, failed, outcome });
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, inputs.length)) }, worker));
    return outcomes;
  }

  /** An image's metadata and the state of every stage. */
  get(id: string, options?: RequestOptions): Promise<Image> {
    return this.transport.json<Image>({ method: 'GET', path: `/v1/images/${encodeURIComponent(id)}`, retriable: true }, options);
  }

  /**
   * Polls until the pipeline is done with the image and resolves with it
   * ready; rejects with ImageNotUsableError when it failed or is infected,
   * with TimeoutError when `timeout` passes first. The catalog learns of an
   * upload moments after its 202, so until then "not found" means "not yet".
   */
  async waitUntilReady(id: string, options: WaitOptions = {}): Promise<Image> {
    const timeout = options.timeout ?? DEFAULT_WAIT_MS;
    const deadline = AbortSignal.timeout(timeout);
    const signal = options.signal === undefined ? deadline : AbortSignal.any([options.signal, deadline]);
    try {
      for (let pause = FIRST_POLL_MS; ; pause = Math.min(pause * 2, MAX_POLL_MS)) {
        const image = await this.get(id, { signal, timeout }).catch((error: unknown) => {
          if (error instanceof NotFoundError) return null;
          throw error;
        });
        if (image?.status === 'ready') return image;
        if (image !== null && UNUSABLE.has(image.status)) {
          throw new ImageNotUsableError(
            id,
            image.status,
            `image ${id} is ${image.status}${image.failure === null ? '' : `: ${image.failure.reason}`}`,
          );
        }
        await sleep(pause, undefined, { signal });
      }
    } catch (error) {
      if (deadline.aborted) throw new TimeoutError(`image ${id} was not ready within ${timeout} ms`, { cause: error });
      throw error;
    }
  }

  /** Deletes the image and everything made from it. */
  async delete(id: string, options?: RequestOptions): Promise<void> {
    await this.transport.send({ method: 'DELETE', path: `/v1/images/${encodeURIComponent(id)}`, retriable: true }, options);
  }

  /** Every image, a page at a time: `for await (const page of pi.images.list()) …`. */
  async *list(options: ListOptions = {}): AsyncGenerator<Image[], void, undefined> {
    const { status, limit, ...request } = options;
    let cursor: string | null = null;
    do {
      const query = new URLSearchParams();
      if (status !== undefined) query.set('status', status);
      if (limit !== undefined) query.set('limit', String(limit));
      if (cursor !== null) query.set('cursor', cursor);
      const page: ImagePage = await this.transport.json<ImagePage>({ method: 'GET', path: '/v1/images', query, retriable: true }, request);
      yield [...page.images];
      cursor = page.next;
    } while (cursor !== null);
  }

  /**
   * The URL of the image in a format, transformed, in the server's canonical
   * form: aliases resolved, values in one spelling, `dpr` folded into the
   * size, defaults and options that cannot matter left out, options in the
   * order they apply. Options that mean the same work give the same URL, and
   * the server reads it back into the same transformation (one stored result,
   * one ETag). A preset's options, and options the server will refuse, go as
   * written instead (see imageQuery). `format` is required (see ImageUrlOptions).
   */
  url(id: string, options: ImageUrlOptions): string {
    const { path, query } = imageLocation(id, options);
    return this.transport.url(path, query);
  }

  /**
   * A URL anyone may GET until it expires (an `<img src>` in a browser), for
   * the same image, format and options as `url()`, signed with the tenant's
   * secret: here, when the client was given it (`signing`), with no call to
   * the server; otherwise by the server (POST /v1/signed-urls). Both sign
   * the same way and give the same URL.
   */
  async signedUrl(id: string, options: ImageUrlOptions, signing: SignedUrlOptions = {}): Promise<SignedUrl> {
    const { expiresIn = 3600, ...request } = signing;
    const { path, query } = imageLocation(id, options);
    const signedPath = `${path}${query.size === 0 ? '' : `?${query.toString()}`}`;
    const signed =
      this.signing === undefined
        ? await this.signedByServer(signedPath, expiresIn, request)
        : signedLocally(this.signing, path, signedPath, expiresIn);
    return { url: `${this.transport.baseUrl}${signed.path}`, expiresAt: signed.expiresAt };
  }

  /** POST /v1/signed-urls: `pathAndQuery` signed by the server. */
  private async signedByServer(pathAndQuery: string, expiresIn: number, request: RequestOptions): Promise<SignedPath> {
    const signed = await this.transport.json<{ url: string; expiresAt: string }>(
      {
        method: 'POST',
        path: '/v1/signed-urls',
        headers: { 'Content-Type': 'application/json' },
        body: () => JSON.stringify({ path: pathAndQuery, expiresIn }),
        retriable: true,
      },
      request,
    );
    return { path: signed.url, expiresAt: new Date(signed.expiresAt) };
  }

  /** The image in a format, transformed, as a stream. */
  async download(id: string, options: ImageUrlOptions, request?: RequestOptions): Promise<Readable> {
    const { path, query } = imageLocation(id, options);
    const response = await this.transport.send({ method: 'GET', path, query, retriable: true }, request);
    if (response.body === null) throw new TypeError('the image answer has no body');
    return Readable.fromWeb(response.body as WebReadableStream<Uint8Array>);
  }
}
