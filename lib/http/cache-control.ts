/** A year: as long as RFC 9111 caches are expected to keep anything. */
const YEAR_SECONDS = 31_536_000;

/** Derived content never changes under its URL: a new master means a new image id. */
const IMMUTABLE = `public, max-age=${YEAR_SECONDS}, immutable`;

/**
 * The Cache-Control of image bytes. Under an API key they are immutable. A
 * signed URL's are kept no longer than the signature lasts (Unix seconds
 * `signatureExpires`), and never immutable, so no cache serves them past it.
 */
export function imageCacheControl(signatureExpires: number | null, now = Date.now()): string {
  if (signatureExpires === null) return IMMUTABLE;
  const left = Math.max(0, Math.min(YEAR_SECONDS, Math.floor(signatureExpires - now / 1000)));
  return `public, max-age=${left}`;
}
