import { z } from 'zod';
import type { ZodOpenApiResponseObject, ZodOpenApiResponsesObject } from 'zod-openapi';

/** The body of every error answer (lib/http/errors.ts writes it): `{"error": {code, message, …details}}`. */
export const errorBodySchema = z
  .object({
    error: z.looseObject({ code: z.string(), message: z.string() }).meta({ description: 'plus details, e.g. option, supported, maxBytes' }),
  })
  .meta({ id: 'Error' });
export type ErrorBody = z.infer<typeof errorBodySchema>;

/** An error answer, its codes listed in its description. */
export const failure = (description: string, codes: readonly string[]): ZodOpenApiResponseObject => ({
  description: `${description} (codes: ${codes.join(', ')})`,
  content: { 'application/json': { schema: errorBodySchema } },
});

export const SIGNATURE_REFUSED = ['signature_invalid', 'signature_expired', 'signature_required'];
export const BODY_REFUSED = ['invalid_json', 'invalid_body', 'unreadable_body'];
export const URL_REFUSED = [
  'address_refused',
  'url_scheme_refused',
  'url_invalid',
  'url_credentials_refused',
  'too_many_redirects',
  'redirect_downgrade_refused',
  'host_unresolvable',
];
/** What a query that the route's schema refuses is answered with. */
export const badQuery = (description = 'a bad query') => ({ '400': failure(description, ['invalid_query']) });

/** Any other failure of any operation. */
const otherwise = failure(
  'any other failure: a crash, a server it depends on not answering (503, Retry-After), a method the path does not take (405 with Allow), a request HTTP cannot parse or too slow to arrive',
  [
    'internal_error',
    'dependency_unavailable',
    'method_not_allowed',
    'not_found',
    'malformed_request',
    'request_timeout',
    'headers_too_large',
  ],
);

/** What any API operation may answer: refusals of its credentials, its tenant's rate, and any other failure. */
export const always: ZodOpenApiResponsesObject = {
  '401': failure('no API key, or one that is not valid', ['unauthenticated']),
  '403': failure('a signed URL that does not match, has expired, or is required', SIGNATURE_REFUSED),
  '429': failure("over the tenant's request rate; Retry-After says when to try again", ['rate_limited']),
  default: otherwise,
};

/** What an admin operation may answer besides its own: refusals of the admin token, and any other failure. */
export const adminRefused: ZodOpenApiResponsesObject = {
  '401': failure("no admin token, or a wrong one (a tenant's API key is one)", ['admin_token_required', 'admin_token_invalid']),
  '403': failure('the admin API is off: PROGIMAGE_ADMIN_TOKEN is not set', ['admin_disabled']),
  default: otherwise,
};

/** Operations that answer without credentials (health; metrics when public). */
export const OPEN = { security: [] };
/** Admin operations are admitted by PROGIMAGE_ADMIN_TOKEN alone (as a bearer token or in X-ProgImage-Admin-Token), never by an API key. */
export const ADMIN = { security: [{ adminToken: [] }, { adminTokenHeader: [] }] };
