import { createHmac, timingSafeEqual } from 'node:crypto';

/** The query parameters a signed URL adds; every other parameter is covered by the signature. */
export const SIGNATURE_PARAMETERS = { tenant: 'tenant', expires: 'expires', signature: 'signature' } as const;

const byNameThenValue = ([a, av]: [string, string], [b, bv]: [string, string]): number =>
  a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0;

/**
 * What a signature covers: the path, and every query parameter but the
 * signature itself (the tenant and expiry included), sorted, so that the
 * order a client writes them in does not matter.
 */
function signedText(path: string, parameters: readonly [string, string][]): string {
  const covered = parameters.filter(([name]) => name !== SIGNATURE_PARAMETERS.signature).sort(byNameThenValue);
  return `${path}?${new URLSearchParams(covered).toString()}`;
}

const hmac = (secret: string, text: string): Buffer => createHmac('sha256', secret).update(text).digest();

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
  parameters.set(SIGNATURE_PARAMETERS.signature, hmac(secret, signedText(path, [...parameters])).toString('base64url'));
  return `${path}?${parameters.toString()}`;
}

/** True when `signature` was made over this path and these parameters with one of `secrets`; constant-time. */
export function signatureMatches(
  secrets: readonly string[],
  path: string,
  parameters: readonly [string, string][],
  signature: string,
): boolean {
  const given = Buffer.from(signature, 'base64url');
  const text = signedText(path, parameters);
  let matched = false;
  // Every secret is tried, so the time taken does not tell which one matched.
  for (const secret of secrets) {
    const expected = hmac(secret, text);
    if (given.length === expected.length && timingSafeEqual(given, expected)) matched = true;
  }
  return matched;
}
