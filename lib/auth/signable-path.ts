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
