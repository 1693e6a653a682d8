import http, { type ClientRequest, type IncomingMessage } from 'node:http';
import https from 'node:https';
import { DomainError, InvalidRequestError, PayloadTooLargeError, RemoteFailedError, RemoteTimeoutError } from '../errors.ts';
import { parseTarget, permittedAddresses, pinnedLookup, type Addresses, type TargetPolicy } from './remote-target.ts';

/** What a remote URL answered, after its redirects. The bytes are not sniffed here. */
export interface RemoteObject {
  readonly bytes: Buffer;
  readonly finalUrl: string;
  readonly contentType: string | null;
}

export interface RemoteFetchOptions extends TargetPolicy {
  readonly maxBytes: number;
  /** The deadline of the whole fetch: every lookup, redirect and byte of the body. */
  readonly timeoutMs: number;
  readonly maxRedirects: number;
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

function send(url: URL, addresses: Addresses, signal: AbortSignal): Promise<{ request: ClientRequest; response: IncomingMessage }> {
  const client = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    // No agent: a pooled keep-alive socket is keyed by host and port only, and would skip this hop's checked addresses.
    const request = client.get(
      url,
      { agent: false, lookup: pinnedLookup(addresses), signal, headers: { 'user-agent': 'ProgImage', accept: 'image/*' } },
      (response) => {
        resolve({ request, response });
      },
    );
    request.on('error', reject);
  });
}

function tooLarge(maxBytes: number): PayloadTooLargeError {
  return new PayloadTooLargeError(`the remote image is larger than ${maxBytes} bytes`, { maxBytes });
}

async function readCapped(response: IncomingMessage, maxBytes: number): Promise<Buffer> {
  if (Number(response.headers['content-length']) > maxBytes) throw tooLarge(maxBytes);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of response as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) throw tooLarge(maxBytes);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}

function nextHop(current: URL, location: string): URL {
  const next = parseTarget(location, current);
  if (current.protocol === 'https:' && next.protocol === 'http:') {
    throw new InvalidRequestError('redirect_downgrade_refused', `${current.href} redirects from https to plain http (${next.href})`, {
      url: current.href,
      location: next.href,
    });
  }
  return next;
}

async function followRedirects(url: string, options: RemoteFetchOptions, signal: AbortSignal): Promise<RemoteObject> {
  let target = parseTarget(url);
  for (let redirects = 0; ; redirects += 1) {
    const { request, response } = await send(target, await permittedAddresses(target, options), signal);
    try {
      const status = response.statusCode ?? 0;
      const { location } = response.headers;
      if (REDIRECT_STATUSES.has(status) && location !== undefined) {
        if (redirects === options.maxRedirects) {
          throw new InvalidRequestError('too_many_redirects', `${url} redirects more than ${options.maxRedirects} times`, {
            maxRedirects: options.maxRedirects,
          });
        }
        target = nextHop(target, location);
        continue;
      }
      if (status < 200 || status > 299) {
        throw new RemoteFailedError('remote_error', `${target.href} answered ${status}`, { remoteStatus: status });
      }
      const bytes = await readCapped(response, options.maxBytes);
      return { bytes, finalUrl: target.href, contentType: response.headers['content-type'] ?? null };
    } finally {
      // Whatever the outcome, nothing more is read from this hop.
      request.destroy();
    }
  }
}

/**
 * Fetches an image from a URL a client gave, which must not be able to reach
 * anything but the public internet (SSRF): only http(s), no credentials, and
 * every address of every hop checked by the address policy and connected to
 * as checked. The size cap and the deadline cover the whole fetch.
 */
export async function fetchRemote(url: string, options: RemoteFetchOptions): Promise<RemoteObject> {
  const deadline = AbortSignal.timeout(options.timeoutMs);
  const timeout = new RemoteTimeoutError(`${url} was not fetched within ${options.timeoutMs} ms`, { timeoutMs: options.timeoutMs });
  // A DNS lookup cannot be aborted: the race ends the fetch at the deadline all the same.
  const timedOut = new Promise<never>((_resolve, reject) => {
    deadline.addEventListener(
      'abort',
      () => {
        reject(timeout);
      },
      { once: true },
    );
  });
  try {
    return await Promise.race([followRedirects(url, options, deadline), timedOut]);
  } catch (error) {
    if (error instanceof DomainError) throw error;
    if (deadline.aborted) throw timeout;
    const reason = error instanceof Error ? error.message : String(error);
    throw new RemoteFailedError('remote_unreachable', `${url} could not be fetched: ${reason}`, {}, { cause: error });
  }
}
