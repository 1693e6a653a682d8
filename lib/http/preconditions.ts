/** The validators of a representation: what conditional requests compare with. */
export interface Validators {
  /** A strong entity tag, quoted. */
  readonly etag: string;
  readonly lastModified: Date;
}

/** The request headers that make a GET conditional. */
export interface ConditionalHeaders {
  readonly ifNoneMatch: string | undefined;
  readonly ifModifiedSince: string | undefined;
  readonly ifRange: string | undefined;
}

/** True when an If-None-Match header names this entity tag (or is "*"): the weak comparison of RFC 9110 §8.8.3.2. */
function etagMatches(header: string, etag: string): boolean {
  if (header.trim() === '*') return true;
  return header.split(',').some((candidate) => candidate.trim().replace(/^W\//, '') === etag);
}

/** HTTP dates have whole seconds: a time is compared with one at the precision it was sent in. */
const seconds = (date: Date): number => Math.floor(date.getTime() / 1000);

/** The time of an HTTP date, or null for anything else (then the header is ignored). */
function httpDate(header: string): Date | null {
  const time = Date.parse(header);
  return Number.isNaN(time) ? null : new Date(time);
}

/**
 * Whether a GET or HEAD can be answered 304 Not Modified (RFC 9110 §13.2.2):
 * by If-None-Match when it is sent, otherwise by If-Modified-Since.
 */
export function isNotModified({ ifNoneMatch, ifModifiedSince }: ConditionalHeaders, validators: Validators): boolean {
  if (ifNoneMatch !== undefined && ifNoneMatch !== '') return etagMatches(ifNoneMatch, validators.etag);
  const since = ifModifiedSince === undefined ? null : httpDate(ifModifiedSince);
  return since !== null && seconds(validators.lastModified) <= seconds(since);
}

/**
 * Whether a Range may be honoured (RFC 9110 §13.1.5): without If-Range, or
 * when it names the current representation, by its strong entity tag or
 * exactly its Last-Modified date. Otherwise the whole representation is sent.
 */
export function rangeApplies({ ifRange }: ConditionalHeaders, validators: Validators): boolean {
  if (ifRange === undefined || ifRange === '') return true;
  const tag = ifRange.trim();
  if (tag.startsWith('"') || tag.startsWith('W/')) return tag === validators.etag;
  const date = httpDate(tag);
  return date !== null && seconds(date) === seconds(validators.lastModified);
}
