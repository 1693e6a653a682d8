import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Admitted } from '../auth/gatekeeper.ts';
import { LruMap } from '../lru-map.ts';
import { blobHeaders, etagMatches } from './send-blob.ts';

/** A blob response the full request path produced, kept to be sent again as it was. */
export interface CachedResponse {
  readonly body: Buffer;
  readonly etag: string;
  readonly contentType: string;
  /** The route that produced it, for the request metrics. */
  readonly route: string;
  /** Names under which it can be forgotten at once, e.g. the image it shows. */
  readonly tags: readonly string[];
  /** Hears of every time the cache answers with it (hit statistics). */
  readonly served?: () => void;
}

interface Entry {
  readonly response: CachedResponse;
  readonly freshUntil: number;
}

/** Responses are kept per tenant: the same URL of another tenant is another image (or none). */
export const responseKey = (tenant: string, url: string): string => `${tenant} ${url}`;

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
 * refreshes it. An image deleted or quarantined through this process is
 * forgotten at once; through another replica, within `freshMs`.
 */
export class ResponseCache {
  /** Only `remember` counts as a use: the first entries are the least recently checked by the full path. */
  readonly #entries: LruMap<string, Entry>;
  readonly #keysByTag = new Map<string, Set<string>>();

  constructor(
    private readonly maxEntries: number,
    private readonly freshMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.#entries = new LruMap(maxEntries, {
      onEvict: (key, entry) => {
        this.#untag(key, entry);
      },
    });
  }

  get enabled(): boolean {
    return this.freshMs > 0 && this.maxEntries > 0;
  }

  remember(key: string, response: CachedResponse): void {
    if (!this.enabled) return;
    this.#delete(key);
    for (const tag of response.tags) {
      const keys = this.#keysByTag.get(tag) ?? new Set<string>();
      keys.add(key);
      this.#keysByTag.set(tag, keys);
    }
    this.#entries.set(key, { response, freshUntil: this.now() + this.freshMs });
  }

  /** The fresh response stored under `key`, if any (a stale one is dropped). */
  lookup(key: string): CachedResponse | undefined {
    const entry = this.#entries.peek(key);
    if (entry === undefined) return undefined;
    if (entry.freshUntil <= this.now()) {
      this.#delete(key);
      return undefined;
    }
    return entry.response;
  }

  forget(tag: string): void {
    for (const key of this.#keysByTag.get(tag) ?? []) this.#delete(key);
  }

  /**
   * Answers a GET or HEAD whose tenant and URL (without signature) have a fresh entry, the way the full path
   * would have (200, or 304 for a matching If-None-Match); returns null,
   * having written nothing, for every other request.
   */
  serve(request: IncomingMessage, response: ServerResponse, { tenant, url }: Admitted): ServedFromCache | null {
    if (request.method !== 'GET' && request.method !== 'HEAD') return null;
    const cached = this.lookup(responseKey(tenant.id, url));
    if (cached === undefined) return null;
    const headers = blobHeaders(cached.etag);
    const ifNoneMatch = request.headers['if-none-match'];
    cached.served?.();
    if (ifNoneMatch !== undefined && etagMatches(ifNoneMatch, cached.etag)) {
      response.writeHead(304, headers);
      response.end();
      return { route: cached.route, status: 304 };
    }
    response.writeHead(200, { ...headers, 'Content-Type': cached.contentType, 'Content-Length': cached.body.length });
    response.end(request.method === 'HEAD' ? undefined : cached.body);
    return { route: cached.route, status: 200 };
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
