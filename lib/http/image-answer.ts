import type { IncomingHttpHeaders } from 'node:http';
import type { ByteRange } from '../ports/blob-store.ts';
import { requestedRange } from './byte-range.ts';
import { isNotModified, rangeApplies, type ConditionalHeaders, type Validators } from './preconditions.ts';

/** What is known of image bytes before they are read: enough to answer HEAD, 304, 206 and 416. */
export interface Representation extends Validators {
  readonly size: number;
  readonly contentType: string;
  /** The Content-Disposition the URL asks for (`?download`), or null. */
  readonly disposition: string | null;
}

/** A GET or HEAD of image bytes: its method, and the headers that decide the answer. */
export interface ImageRequest extends ConditionalHeaders {
  readonly method: string;
  readonly range: string | undefined;
}

type Headers = Readonly<Record<string, string>>;

/** A representation kept in memory answers many requests with one Last-Modified: its HTTP date is formatted once. */
const httpDates = new WeakMap<Date, string>();

function httpDateOf(date: Date): string {
  let text = httpDates.get(date);
  if (text === undefined) {
    text = date.toUTCString();
    httpDates.set(date, text);
  }
  return text;
}

/** How to answer: the status and headers, and which bytes to send (all of them for a 200 to GET, none to HEAD). */
export type ImageAnswer =
  | { readonly status: 200; readonly headers: Headers; readonly withBody: boolean }
  | { readonly status: 206; readonly headers: Headers; readonly range: ByteRange }
  | { readonly status: 304 | 416; readonly headers: Headers };

/** The headers of a request that decide the answer to it. */
export function imageRequest(method: string, headers: IncomingHttpHeaders): ImageRequest {
  const ifRange = headers['if-range'];
  return {
    method,
    ifNoneMatch: headers['if-none-match'],
    ifModifiedSince: headers['if-modified-since'],
    ifRange: typeof ifRange === 'string' ? ifRange : undefined,
    range: headers.range,
  };
}

/**
 * The answer to a GET or HEAD of image bytes, the same whichever path serves
 * them: 304 when the client's copy is current (If-None-Match, else
 * If-Modified-Since); 206 with Content-Range for one satisfiable range of a
 * GET (unless If-Range names another representation); 416, with the size
 * in Content-Range, for an unsatisfiable one; else 200. HEAD gets
 * the headers of the GET.
 */
export function answerImageRequest(request: ImageRequest, representation: Representation, cacheControl: string): ImageAnswer {
  const { etag, lastModified, size, contentType, disposition } = representation;
  // Headers are built as literals, not spread: this runs for every cached GET, and spreading costs it ~2 µs.
  const lastModifiedText = httpDateOf(lastModified);
  if (isNotModified(request, representation)) {
    return { status: 304, headers: { ETag: etag, 'Last-Modified': lastModifiedText, 'Cache-Control': cacheControl } };
  }
  // RFC 9110 §14.2: GET is the only method ranges are defined for.
  const wanted =
    request.method === 'GET' && rangeApplies(request, representation) ? requestedRange(request.range, size) : { kind: 'whole' as const };
  if (wanted.kind === 'unsatisfiable') return { status: 416, headers: { 'Content-Range': `bytes */${size}`, 'Accept-Ranges': 'bytes' } };
  const headers: Record<string, string> = {
    ETag: etag,
    'Last-Modified': lastModifiedText,
    'Cache-Control': cacheControl,
    'Content-Type': contentType,
    'Accept-Ranges': 'bytes',
    'X-Content-Type-Options': 'nosniff',
    'Content-Length': String(wanted.kind === 'whole' ? size : wanted.range.end - wanted.range.start + 1),
  };
  if (disposition !== null) headers['Content-Disposition'] = disposition;
  if (wanted.kind === 'whole') return { status: 200, headers, withBody: request.method !== 'HEAD' };
  const { range } = wanted;
  headers['Content-Range'] = `bytes ${range.start}-${range.end}/${size}`;
  return { status: 206, headers, range };
}
