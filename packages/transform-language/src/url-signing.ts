import { createHmac } from 'node:crypto';

/**
 * Signed URLs: which paths may be signed, what a signature covers, and how
 * it is made. The one definition: the server signs with it (POST
 * /v1/signed-urls) and verifies with it (lib/auth/signatures.ts), and the
 * client signs with it when it is given the tenant's signing secret.
 */

/** The query parameters a signed URL adds; every other parameter is covered by the signature. */
export const SIGNATURE_PARAMETERS = { tenant: 'tenant', expires: 'expires', signature: 'signature' } as const;

/** Longest a signed URL may live: a year, the longest its response is cached (its max-age never outlives it). */
export const MAX_EXPIRES_IN_SECONDS = 365 * 24 * 3600;

/** A tenant's URL-signing secret, with the tenant it signs for. */
export interface SigningSecret {
  readonly tenant: string;
  readonly secret: string;
}

/**
 * The only paths a signed URL can name: image bytes, written the one way the
 * routes serve them (`/v1/images/ID.EXT`, `/v1/images/ID/variants/NAME.EXT`).
 * Nothing in them is ever decoded or resolved ("%", "." or ".." segments,
 * "//", "\" and upper case never match), so the path a router sees is the
 * path that was signed, byte for byte.
 */
const SIGNABLE_PATH = /^\/v1\/images\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(?:\/variants\/[a-z0-9-]+)?\.[a-z0-9]+$/;

/** True when `path` (raw, as written in the request line, without its query) may be signed and served through a signature. */
export const isSignablePath = (path: string): boolean => SIGNABLE_PATH.test(path);

/** A signable path with any query (no fragment): what may be asked to be signed. */
export const SIGNABLE_PATH_AND_QUERY = new RegExp(`${SIGNABLE_PATH.source.slice(0, -1)}(?:\\?[^#]*)?$`);

const byNameThenValue = ([a, av]: [string, string], [b, bv]: [string, string]): number =>
  a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0;

/**
 * The HMAC-SHA256 of what a signature covers: the path, and every query
 * parameter but the signature itself (the tenant and expiry included),
 * sorted, so that the order a client writes them in does not matter.
 */
export function urlSignature(secret: string, path: string, parameters: readonly [string, string][]): Buffer {
  const covered = parameters.filter(([name]) => name !== SIGNATURE_PARAMETERS.signature).sort(byNameThenValue);
  return createHmac('sha256', secret)
    .update(`${path}?${new URLSearchParams(covered).toString()}`)
    .digest();
}

/**
 * `pathAndQuery` signed for `tenant` with `secret` until `expiresAt`: the same
 * URL with `tenant`, `expires` (Unix seconds) and `signature` (HMAC-SHA256,
 * base64url) added. The path is signed as written, never resolved or decoded:
 * it is verified against the path of the request line as received.
 */
export function signUrl(pathAndQuery: string, tenant: string, secret: string, expiresAt: Date): string {
  const queryStart = pathAndQuery.indexOf('?');
  const path = queryStart === -1 ? pathAndQuery : pathAndQuery.slice(0, queryStart);
  const parameters = new URLSearchParams(queryStart === -1 ? '' : pathAndQuery.slice(queryStart + 1));
  parameters.set(SIGNATURE_PARAMETERS.tenant, tenant);
  parameters.set(SIGNATURE_PARAMETERS.expires, String(Math.floor(expiresAt.getTime() / 1000)));
  parameters.set(SIGNATURE_PARAMETERS.signature, urlSignature(secret, path, [...parameters]).toString('base64url'));
  return `${path}?${parameters.toString()}`;
}
