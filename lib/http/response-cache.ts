import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { LRUCache } from 'lru-cache';
import type { Admitted } from '../auth/gatekeeper.ts';
import { imageCacheControl } from './cache-control.ts';
import { answerImageRequest, imageRequest, type Representation } from './image-answer.ts';
import { mergeHeaders } from './vary.ts';

/**
 * How the answers to one URL differ by the request's headers (the format of
 * `ID.auto` by Accept, dpr=auto by client hints): one is kept per variant.
 */
export interface Negotiation {
  /** The variant this answer is. */
  readonly variant: string;
  /** The variant a request with these headers gets: equal for requests given equal answers. */
  readonly variantOf: (headers: IncomingHttpHeaders) => string;
  /** Sent with every answer: Vary naming those headers, Accept-CH asking for hints. */
  readonly headers: Readonly<Record<string, string>>;
}

/** A blob response the full request path produced, kept to be sent again as it was. */
export interface CachedResponse {
  readonly body: Buffer;
  readonly representation: Representation;
  /** The route that produced it, for the request metrics. */
  readonly route: string;
  /** Names under which it can be forgotten at once, e.g. the image it shows. */
  readonly tags: readonly string[];
  /** Hears of every time the cache answers with it (hit statistics). */
  readonly served?: () => void;
  /** For an answer the request's headers chose; absent when every request gets this one. */
  readonly negotiation?: Negotiation | undefined;
}

interface Entry {
  readonly response: CachedResponse;
  readonly freshUntil: number;
  /** Stale, and one request is taking the full path to check it again: the others are answered with it meanwhile. */
  checking: boolean;
}

/** Responses are kept per tenant: the same URL of another tenant is another image (or none). */
export const responseKey = (tenant: string, url: string): string => `${tenant} ${url}`;

/** Where one variant of a negotiated URL's answers is kept. */
const variantKey = (url: string, variant: string): string => `${url}\n${variant}`;

/** How a request the cache answered ended, for the request metrics. */
export interface ServedFromCache {
  readonly route: string;
  readonly status: number;
}

/**
 * Responses of hot derived images, answered straight from node:http before
 * the Koa app sees the request (Koa, the router, the catalog record and the
 * options' canonical form cost several times the sending of the bytes).
 *
 * An entry is only as trustworthy as the checks the full path made when it
 * stored it (the image servable, the options valid), so it is answered for
 * `freshMs` only; after that the next request takes the full path again and
 * refreshes it. Only that one request: the others arriving while it is in
 * flight are answered with the stale entry (as HTTP's stale-while-revalidate),
 * since a herd of full-path requests for one hot URL every `freshMs` costs
 * CPU and heap for answers the first one gives; when the check ends without
 * refreshing the entry (the image gone, a failure), the entry is dropped.
 * An image deleted or quarantined through this process is forgotten at once;
 * through another replica, within `freshMs` and the check's own time.
 */
export class ResponseCache {
  /** Only `remember` counts as a use: the first entries are the least recently checked by the full path. */
  readonly #entries: LRUCache<string, Entry>;
  readonly #keysByTag = new Map<string, Set<string>>();
  /** How the answers of each negotiated URL's key vary: their entries are kept under the key and the variant. */
  readonly #variations: LRUCache<string, Negotiation['variantOf']>;

  constructor(
    private readonly maxEntries: number,
    private readonly freshMs: number,
    private readonly now: () => number = Date.now,
  ) {
    // lru-cache needs a bound of at least one; a cache of no entries is not `enabled` and stores nothing.
    const max = Math.max(1, maxEntries);
    this.#entries = new LRUCache({
      max,
      // Only an entry pushed out by newer ones is untagged here; #delete untags what it deletes itself.
      dispose: (entry, key, reason) => {
        if (reason === 'evict') this.#untag(key, entry);
      },
    });
    this.#variations = new LRUCache({ max });
  }

  get enabled(): boolean {
    return this.freshMs > 0 && this.maxEntries > 0;
  }

  /** Keeps `response` under `key` (responseKey), or, when negotiated, under `key` and its variant. */
  remember(key: string, response: CachedResponse): void {
    if (!this.enabled) return;
    const { negotiation } = response;
    if (negotiation === undefined) this.#variations.delete(key);
    else this.#variations.set(key, negotiation.variantOf);
    this.#keep(negotiation === undefined ? key : variantKey(key, negotiation.variant), response);
  }

  #keep(key: string, response: CachedResponse): void {
    this.#dropStale();
    this.#delete(key);
    for (const tag of response.tags) {
      const keys = this.#keysByTag.get(tag) ?? new Set<string>();
      keys.add(key);
      this.#keysByTag.set(tag, keys);
    }
    this.#entries.set(key, { response, freshUntil: this.now() + this.freshMs, checking: false });
  }

  /** The fresh response stored under `key` for a request with `headers` (of its variant, when negotiated), if any. */
  lookup(key: string, headers: IncomingHttpHeaders = {}): CachedResponse | undefined {
    const entry = this.#entries.peek(this.#entryKey(key, headers));
    return entry !== undefined && entry.freshUntil > this.now() ? entry.response : undefined;
  }

  #entryKey(key: string, headers: IncomingHttpHeaders): string {
    const variantOf = this.#variations.peek(key);
    return variantOf === undefined ? key : variantKey(key, variantOf(headers));
  }

  /**
   * The entry to answer `response`'s request with: a fresh one, or a stale
   * one whose check is in flight. For a stale one nobody checks, undefined,
   * and this request becomes its check: when its response closes, the entry
   * leaves unless the full path remembered a new one meanwhile.
   */
  #answerable(entryKey: string, response: ServerResponse): CachedResponse | undefined {
    const entry = this.#entries.peek(entryKey);
    if (entry === undefined || entry.freshUntil > this.now() || entry.checking) return entry?.response;
    entry.checking = true;
    response.once('close', () => {
      if (this.#entries.peek(entryKey) === entry) this.#delete(entryKey);
    });
    return undefined;
  }

  forget(tag: string): void {
    for (const key of this.#keysByTag.get(tag) ?? []) this.#delete(key);
  }

  /**
   * Answers a GET or HEAD whose tenant and URL (without signature) have a
   * fresh entry, or a stale one being checked (of the variant its headers choose, when negotiated), the
   * way the full path would have (answerImageRequest: 200, 206, 304, HEAD),
   * with `headers` besides (CORS, its Vary merged with the negotiation's);
   * returns null, having written nothing, for every other request, and for
   * a range it cannot satisfy (the full path answers its 416).
   */
  serve(
    request: IncomingMessage,
    response: ServerResponse,
    { tenant, url, signatureExpires }: Admitted,
    headers: Readonly<Record<string, string>>,
  ): ServedFromCache | null {
    const { method = '' } = request;
    if (method !== 'GET' && method !== 'HEAD') return null;
    const cached = this.#answerable(this.#entryKey(responseKey(tenant.id, url), request.headers), response);
    if (cached === undefined) return null;
    const answer = answerImageRequest(imageRequest(method, request.headers), cached.representation, imageCacheControl(signatureExpires));
    if (answer.status === 416) return null;
    cached.served?.();
    response.writeHead(answer.status, mergeHeaders(headers, answer.headers, cached.negotiation?.headers ?? {}));
    if (answer.status === 206) response.end(cached.body.subarray(answer.range.start, answer.range.end + 1));
    else response.end(answer.status === 200 && answer.withBody ? cached.body : undefined);
    return { route: cached.route, status: answer.status };
  }

  /**
   * A stale entry is never answered again, yet its body would stay in memory
   * until `maxEntries` newer ones pushed it out: hundreds of megabytes of dead
   * bodies once many URLs were asked for once each (a soak of 10,000 requests
   * grew by 64 KB per transformation made). The first entries are the least
   * recently remembered, so they go stale first: they leave as they do.
   */
  #dropStale(): void {
    const now = this.now();
    const stale: string[] = [];
    // rkeys: from the least recently remembered on (peek changes no order); collected first, deleted after the walk.
    for (const key of this.#entries.rkeys()) {
      const entry = this.#entries.peek(key);
      if ((entry?.freshUntil ?? now) > now) break;
      if (entry?.checking !== true) stale.push(key); // its check drops it, or refreshes it
    }
    for (const key of stale) this.#delete(key);
  }

  #delete(key: string): void {
    const entry = this.#entries.peek(key);
    if (entry === undefined) return;
    this.#entries.delete(key);
    this.#untag(key, entry);
  }

  #untag(key: string, entry: Entry): void {
    for (const tag of entry.response.tags) {
      const keys = this.#keysByTag.get(tag);
      keys?.delete(key);
      if (keys?.size === 0) this.#keysByTag.delete(tag);
    }
  }
}
