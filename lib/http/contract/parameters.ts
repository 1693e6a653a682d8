import { z } from 'zod';
import { idempotencyKeySchema } from '../../ids.ts';

/** A path segment naming something, described. */
export const pathSegment = (description: string) => z.string().meta({ description });

/** The page size of a listing: from 1 to `maximum`, `byDefault` when not given. */
export const pageLimit = (maximum: number, byDefault: number) =>
  z.coerce
    .number({ error: `expected a number from 1 to ${maximum}` })
    .int()
    .min(1)
    .max(maximum)
    .default(byDefault);

/** The cursor of a listing: the previous page's `next`. */
export const nextOf = <T extends z.ZodType>(cursor: T) => cursor.optional().meta({ description: "The previous page's next" });

/** The header of requests that may be retried safely. */
export const idempotencyHeaders = z.object({
  'Idempotency-Key': idempotencyKeySchema.optional().meta({
    description: 'A retry with the same key answers as the first request did and stores nothing twice; 1-255 visible ASCII characters',
  }),
});

const OCTET = '(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';

/**
 * A URL ProgImage calls or fetches, as far as the document can say: http or
 * https, no credentials, a host name (its last label not a number) or an IPv4
 * address, an optional port. The route parses it again (url_invalid,
 * url_scheme_refused, url_credentials_refused) and checks the addresses the
 * host resolves to when it is called (address_refused, host_unresolvable),
 * which no document can say.
 */
export const fetchableUrl = (maxLength?: number) =>
  (maxLength === undefined ? z.string() : z.string().max(maxLength)).meta({
    pattern: String.raw`^https?://(?:(?:[A-Za-z0-9-]+\.)*[A-Za-z][A-Za-z0-9-]*|(?:${OCTET}\.){3}${OCTET})(?::[1-9]\d{0,3})?(?:[/?#][\x21-\x7e]*)?$`,
    description: 'An http or https URL without credentials; its host must resolve to public addresses (see "Fetching URLs" in docs/api.md)',
  });
