import { SIGNATURE_PARAMETERS } from './signatures.ts';

/** What a request presents to prove which tenant it acts for. */
export type Credentials =
  | { readonly kind: 'none' }
  | { readonly kind: 'key'; readonly key: string }
  | { readonly kind: 'malformed'; readonly reason: string }
  | {
      readonly kind: 'signature';
      readonly tenant: string;
      readonly expires: string;
      readonly signature: string;
      /** The path as received: neither decoded nor resolved, so that what is verified is what the routes see. */
      readonly path: string;
      /** Every query parameter, the signature's own included (it is left out of what is verified). */
      readonly parameters: readonly [string, string][];
    };

export interface PresentedRequest {
  readonly method: string;
  readonly authorization: string | undefined;
  /** The path and query, as received. */
  readonly url: string;
}

const BEARER = /^Bearer\s+(\S+)\s*$/i;

/**
 * The credentials of a request, and its URL without the signature's
 * parameters (what the routes see, and what responses are cached under).
 * An Authorization header wins over a signature in the query.
 */
export function presentedCredentials({ authorization, url }: PresentedRequest): { credentials: Credentials; url: string } {
  if (authorization !== undefined) {
    const bearer = BEARER.exec(authorization);
    return {
      credentials:
        bearer?.[1] === undefined
          ? { kind: 'malformed', reason: 'expected "Authorization: Bearer <API key>"' }
          : { kind: 'key', key: bearer[1] },
      url,
    };
  }
  const queryStart = url.indexOf('?');
  if (queryStart === -1 || !url.includes(`${SIGNATURE_PARAMETERS.signature}=`, queryStart)) return { credentials: { kind: 'none' }, url };
  const path = url.slice(0, queryStart);
  const query = new URLSearchParams(url.slice(queryStart + 1));
  const value = (name: string): string => query.get(name) ?? '';
  const credentials: Credentials = {
    kind: 'signature',
    tenant: value(SIGNATURE_PARAMETERS.tenant),
    expires: value(SIGNATURE_PARAMETERS.expires),
    signature: value(SIGNATURE_PARAMETERS.signature),
    path,
    parameters: [...query],
  };
  for (const name of Object.values(SIGNATURE_PARAMETERS)) query.delete(name);
  return { credentials, url: query.size === 0 ? path : `${path}?${query.toString()}` };
}
