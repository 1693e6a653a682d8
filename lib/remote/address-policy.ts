import ipaddr from 'ipaddr.js';

type Address = ipaddr.IPv4 | ipaddr.IPv6;

/** Whether ProgImage may connect to an address, and if not, why (a phrase: "a loopback address"). */
export type AddressVerdict = { readonly allowed: true } | { readonly allowed: false; readonly reason: string };

const ALLOWED: AddressVerdict = { allowed: true };
const refused = (reason: string): AddressVerdict => ({ allowed: false, reason });

/** Instance metadata services (AWS, GCP, Azure, AWS over IPv6, Alibaba): named, though their ranges are refused anyway. */
const CLOUD_METADATA = new Set(
  ['169.254.169.254', 'fd00:ec2::254', '100.100.100.200'].map((address) => ipaddr.parse(address).toNormalizedString()),
);

/** ipaddr.js names its special-purpose ranges; these are the ones a refusal is likeliest to meet. */
const RANGE_DESCRIPTIONS: Readonly<Record<string, string>> = {
  unspecified: 'an unspecified address',
  broadcast: 'a broadcast address',
  multicast: 'a multicast address',
  linkLocal: 'a link-local address',
  loopback: 'a loopback address',
  carrierGradeNat: 'a carrier-grade NAT address (100.64.0.0/10)',
  private: 'a private address',
  reserved: 'a reserved, documentation or benchmarking address',
  benchmarking: 'a benchmarking address',
  uniqueLocal: 'a unique-local address',
  teredo: 'a Teredo tunnel address',
  deprecatedSiteLocal: 'a site-local address',
};

const describeRange = (range: string): string => RANGE_DESCRIPTIONS[range] ?? `a special-purpose address (${range})`;

const NAT64_WELL_KNOWN = ipaddr.IPv6.parse('64:ff9b::');
/** IANA's global unicast block: every IPv6 address assigned for use on the internet is inside it. */
const GLOBAL_UNICAST = ipaddr.IPv6.parse('2000::');

const ipv4From = (high: number, low: number): ipaddr.IPv4 => new ipaddr.IPv4([high >> 8, high & 0xff, low >> 8, low & 0xff]);

/**
 * The IPv4 address that an IPv6 address reaches through a translation or a
 * tunnel: IPv4-mapped and -translated, well-known NAT64, and 6to4.
 */
function embeddedIPv4(address: ipaddr.IPv6): ipaddr.IPv4 | null {
  const [, sixToFourHigh = 0, sixToFourLow = 0, , , , high = 0, low = 0] = address.parts;
  switch (address.range()) {
    case 'ipv4Mapped':
    case 'rfc6145':
      return ipv4From(high, low);
    case 'rfc6052':
      return address.match(NAT64_WELL_KNOWN, 96) ? ipv4From(high, low) : null;
    case '6to4':
      return ipv4From(sixToFourHigh, sixToFourLow);
    default:
      return null;
  }
}

function judgeIPv6(address: ipaddr.IPv6): AddressVerdict {
  const embedded = embeddedIPv4(address);
  if (embedded !== null) {
    const verdict = judge(embedded);
    return verdict.allowed ? verdict : refused(`an IPv6 form of ${embedded.toString()}, ${verdict.reason}`);
  }
  const range = address.range();
  if (range !== 'unicast') return refused(describeRange(range));
  // Also catches the deprecated IPv4-compatible ::a.b.c.d, which ipaddr.js calls unicast.
  if (!address.match(GLOBAL_UNICAST, 3)) return refused('not a global unicast address (outside 2000::/3)');
  return ALLOWED;
}

function judge(address: Address): AddressVerdict {
  if (CLOUD_METADATA.has(address.toNormalizedString())) return refused('a cloud metadata address');
  if (address instanceof ipaddr.IPv6) return judgeIPv6(address);
  const range = address.range();
  return range === 'unicast' ? ALLOWED : refused(describeRange(range));
}

/**
 * Allows only public unicast addresses, so that a URL given to ProgImage cannot
 * reach the service's own host, its network or a cloud metadata service.
 * Accepts any spelling ipaddr.js parses (0177.0.0.1, 0x7f000001, 2130706433).
 */
export function judgeAddress(address: string): AddressVerdict {
  if (!ipaddr.isValid(address)) return refused('not an IP address');
  return judge(ipaddr.parse(address));
}
