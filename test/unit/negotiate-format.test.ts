import test from 'ava';
import type { OutputFormat } from '../../lib/imaging/formats.ts';
import { negotiateFormat } from '../../lib/http/negotiate-format.ts';

/** What a still image that AVIF and WebP can hold is offered in, best first. */
const BOTH: readonly OutputFormat[] = ['avif', 'webp'];

const CASES: readonly (readonly [
  label: string,
  accept: string | undefined,
  offers: readonly OutputFormat[],
  chosen: OutputFormat | null,
])[] = [
  ['Chrome', 'image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8', BOTH, 'avif'],
  ['Firefox', 'image/avif,image/webp,*/*', BOTH, 'avif'],
  [
    'Safari',
    'image/webp,image/avif,image/jxl,image/heic,image/heic-sequence,video/*;q=0.8,image/png,image/svg+xml,image/*;q=0.8,*/*;q=0.5',
    BOTH,
    'avif',
  ],
  ['WebP only', 'image/webp,*/*', BOTH, 'webp'],
  ['no Accept header', undefined, BOTH, null],
  ['*/* alone', '*/*', BOTH, null],
  ['image/* alone', 'image/*', BOTH, null],
  ['the own format named', 'image/jpeg, image/png', BOTH, null],
  ['AVIF refused with q=0', 'image/avif;q=0,image/webp,*/*', BOTH, 'webp'],
  ['q=0.000 refuses too', 'image/avif;q=0.000, image/webp;q=0', BOTH, null],
  ['the heavier wins', 'image/avif;q=0.5, image/webp;q=0.9', BOTH, 'webp'],
  ["equal weights: the server's order", 'image/webp;q=0.7, image/avif;q=0.7', BOTH, 'avif'],
  ['a type named twice keeps its heaviest', 'image/avif;q=0, image/avif;q=0.4, image/webp;q=0.3', BOTH, 'avif'],
  ['case and spaces do not matter', ' IMAGE/AVIF ; Q=1 , image/webp', BOTH, 'avif'],
  ['other parameters do not matter', 'image/avif;level=1;q=0.9', BOTH, 'avif'],
  ['a malformed weight leaves its range out', 'image/avif;q=high, image/webp;q=1.5, image/webp;q=0.2', BOTH, 'webp'],
  ['a weight with four decimals is malformed', 'image/avif;q=0.1234', BOTH, null],
  ['an offer that is not made is not sent', 'image/avif,image/webp', ['webp'], 'webp'],
  ['nothing acceptable that is made', 'image/avif', ['webp'], null],
  ['no offers', 'image/avif,image/webp', [], null],
  ['garbage', ',,;q=1, /, avif, image/', BOTH, null],
];

test("the format to send comes from AVIF and WebP named in Accept with a weight above 0, the heaviest first, else the image's own (null)", (t) => {
  for (const [label, accept, offers, chosen] of CASES) t.is(negotiateFormat(accept, offers), chosen, label);
});
