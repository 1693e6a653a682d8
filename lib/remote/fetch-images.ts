import type { Config } from '../config/index.ts';
import { DomainError } from '../errors.ts';
import { runConcurrently } from '../concurrency.ts';
import { fetchRemote } from './fetch-remote.ts';

/** An image fetched from a URL, named by the URL's last path segment. */
export interface FetchedImage {
  readonly bytes: Buffer;
  readonly filename?: string;
}

export interface RemoteImageLimits {
  /** The upload size limit in force, which applies to fetched images too. */
  readonly maxBytes: () => number;
  readonly fetch: Config['fetch'];
}

/** Fetches at a time, for a request naming many URLs. */
const FETCH_CONCURRENCY = 4;

/** The last path segment of a URL, as the image's file name. */
function filenameOf(url: string): string | undefined {
  const raw = new URL(url).pathname.split('/').at(-1) ?? '';
  let segment: string;
  try {
    segment = decodeURIComponent(raw);
  } catch {
    segment = raw; // a malformed %-escape names the file as written
  }
  return segment === '' ? undefined : segment.slice(0, 255);
}

/**
 * Fetches images named by URL with the address checks of lib/remote, under
 * the upload size limit; any failure fails the request, naming the URL.
 */
export async function fetchImages(urls: readonly string[], limits: RemoteImageLimits): Promise<FetchedImage[]> {
  return runConcurrently(urls.length, FETCH_CONCURRENCY, async (index) => {
    const url = urls[index] ?? '';
    try {
      const fetched = await fetchRemote(url, {
        maxBytes: limits.maxBytes(),
        timeoutMs: limits.fetch.timeoutMs,
        maxRedirects: limits.fetch.maxRedirects,
        allowedHosts: limits.fetch.allowedHosts,
      });
      const filename = filenameOf(fetched.finalUrl);
      return { bytes: fetched.bytes, ...(filename === undefined ? {} : { filename }) };
    } catch (error) {
      if (error instanceof DomainError && urls.length > 1) throw error.within(`url ${index + 1}`, { url });
      throw error;
    }
  });
}
