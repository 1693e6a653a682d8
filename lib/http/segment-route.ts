/**
 * A route path ending in one parameter that `segment` restricts, where a bare
 * `:name` would also take a sibling path of the document: path-to-regexp v8
 * (@koa/router 14+) has no `:name(regex)`. With a bare `:name`, the router
 * counts the route's methods in a 405's Allow on the sibling too — DELETE on
 * /v1/images/ID.jpg, or on /v1/admin/keys/revoke — and takes them there.
 */
export function segmentRoute(path: string, segment: RegExp): RegExp {
  const escaped = path.replaceAll(/[.*+?^${}()|[\]\\/]/g, String.raw`\$&`);
  const unanchored = segment.source.replace(/^\^/, '').replace(/\$$/, '');
  return new RegExp(`^${escaped}/(${unanchored})$`);
}

/** The parameter a segmentRoute matched, percent-decoded. */
export function segmentOf(ctx: { captures?: string[] }): string {
  const captured = ctx.captures?.[0] ?? '';
  try {
    return decodeURIComponent(captured);
  } catch {
    return captured;
  }
}
