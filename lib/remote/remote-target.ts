import type { LookupAddress } from 'node:dns';
import { lookup as dnsLookup } from 'node:dns/promises';
import type { LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';
import { InvalidRequestError, RefusedAddressError } from '../errors.ts';
import { judgeAddress } from './address-policy.ts';

/*
 * Where ProgImage may connect when a client names a URL (an image to fetch,
 * a webhook to call): only http(s), no credentials in the URL, and every
 * address the host resolves to allowed by the address policy, unless the
 * host is a trusted one. The socket then connects to the addresses checked.
 */

/** Every address a host name resolves to. */
export type HostLookup = (hostname: string) => Promise<readonly LookupAddress[]>;

export interface TargetPolicy {
  /** Exact `host:port` entries (`images.internal:8080`, `[::1]:9000`) exempt from the address checks; none by default. */
  readonly allowedHosts?: readonly string[];
  readonly lookup?: HostLookup;
}

export type Addresses = readonly [LookupAddress, ...LookupAddress[]];

const DEFAULT_PORTS: Readonly<Record<string, string>> = { 'http:': '80', 'https:': '443' };

const resolveAll: HostLookup = (hostname) => dnsLookup(hostname, { all: true });

/** The URL `text` (relative to `base`, for a redirect), if ProgImage may call such a URL at all. */
export function parseTarget(text: string, base?: URL): URL {
  let url: URL;
  try {
    url = new URL(text, base);
  } catch {
    throw new InvalidRequestError('url_invalid', `not a valid URL: ${text}`, { url: text });
  }
  if (!(url.protocol in DEFAULT_PORTS)) {
    throw new InvalidRequestError('url_scheme_refused', `only http and https URLs can be fetched, not ${url.protocol}`, { url: url.href });
  }
  if (url.username !== '' || url.password !== '') {
    throw new InvalidRequestError('url_credentials_refused', `a URL to fetch may not carry credentials (${url.hostname})`, {
      host: url.hostname,
    });
  }
  return url;
}

/** The address checks apply to every host but the trusted ones, which are compared with their port always spelled out. */
function isAllowedHost(url: URL, allowedHosts: readonly string[]): boolean {
  return allowedHosts.includes(`${url.hostname}:${url.port || (DEFAULT_PORTS[url.protocol] ?? '')}`);
}

async function resolveHost(hostname: string, lookup: HostLookup): Promise<Addresses> {
  if (ipaddr.isValid(hostname)) {
    const address = ipaddr.parse(hostname);
    return [{ address: address.toString(), family: address.kind() === 'ipv4' ? 4 : 6 }];
  }
  const unresolvable = new InvalidRequestError('host_unresolvable', `${hostname} could not be resolved`, { host: hostname });
  const [first, ...others] = await lookup(hostname).catch(() => {
    throw unresolvable;
  });
  if (first === undefined) throw unresolvable;
  return [first, ...others];
}

/** The addresses a connection to `url` may use: resolved now, all of them checked, unless the host is a trusted one. */
export async function permittedAddresses(url: URL, policy: TargetPolicy): Promise<Addresses> {
  const hostname = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const addresses = await resolveHost(hostname, policy.lookup ?? resolveAll);
  if (isAllowedHost(url, policy.allowedHosts ?? [])) return addresses;
  for (const { address } of addresses) {
    const verdict = judgeAddress(address);
    if (!verdict.allowed) {
      throw new RefusedAddressError(`refusing to connect to ${url.hostname}: ${address} is ${verdict.reason}`, {
        host: url.hostname,
        address,
      });
    }
  }
  return addresses;
}

/** Hands the socket the addresses that were checked, so that a second DNS answer (rebinding) never reaches it. */
export const pinnedLookup =
  (addresses: Addresses): LookupFunction =>
  (_hostname, options, callback) => {
    if (options.all === true) callback(null, [...addresses]);
    else callback(null, addresses[0].address, addresses[0].family);
  };
