import { timingSafeEqual } from 'node:crypto';
import { urlSignature } from '@progimage/transform-language';

/** How URLs are signed is the transform language's (@progimage/transform-language, url-signing.ts): a client that has the secret signs the same way. */
export { SIGNATURE_PARAMETERS, signUrl } from '@progimage/transform-language';

/** True when `signature` was made over this path and these parameters with one of `secrets`; constant-time. */
export function signatureMatches(
  secrets: readonly string[],
  path: string,
  parameters: readonly [string, string][],
  signature: string,
): boolean {
  const given = Buffer.from(signature, 'base64url');
  let matched = false;
  // Every secret is tried, so the time taken does not tell which one matched.
  for (const secret of secrets) {
    const expected = urlSignature(secret, path, parameters);
    if (given.length === expected.length && timingSafeEqual(given, expected)) matched = true;
  }
  return matched;
}
