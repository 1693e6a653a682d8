import test from 'ava';
import { formatForExtension } from '../../lib/imaging/formats.ts';
import { canonicalise, type CanonicalTransform } from '../../lib/transform/canonical.ts';
import { parseOptions } from '../../lib/transform/options.ts';
import { OUTPUT_FORMATS, ProgImage, type ImageUrlOptions, type OutputFormat, type TransformInput } from '../../sdk/src/index.ts';
import { canonicalTransform, transformQuery } from '../../sdk/src/transform-query.ts';

/**
 * pi.images.url() writes the server's canonical form: one URL for options
 * that mean the same work, and a URL the server reads back into the very
 * transformation the client wrote it from.
 */

const pi = new ProgImage({ baseUrl: 'https://images.example.com/' });
const ID = '1b09c5c8-2d0e-4bd2-9a5b-3c1f0f6c2a11';
const OTHER = '7c2e4f10-8a3b-4c5d-9e6f-a1b2c3d4e5f6';

const url = (format: OutputFormat, options: TransformInput) => pi.images.url(ID, { ...options, format });
/** Options as query text, the way the command line and the server's query read them. */
const text = (query: string | URLSearchParams) => Object.fromEntries(new URLSearchParams(query)) as TransformInput;

const EQUIVALENT: readonly (readonly [string, OutputFormat, readonly TransformInput[]])[] = [
  [
    'aliases',
    'webp',
    [
      { w: 200, h: 100, g: 'north', bg: 'red', r: 45 },
      { width: 200, height: 100, gravity: 'north', background: '#f00', rotate: 45 },
    ],
  ],
  ['dpr folded into the size', 'webp', [{ width: 100, dpr: 2 }, { width: 200 }, { w: 100, dpr: 2, fit: 'inside' }]],
  [
    'dpr with both sides',
    'png',
    [
      { width: 100, height: 50, dpr: 2, fit: 'contain' },
      { width: 200, height: 100, fit: 'contain' },
    ],
  ],
  [
    'defaults spelt out',
    'jpeg',
    [
      {
        width: 200,
        height: 100,
        fit: 'cover',
        gravity: 'centre',
        rotate: 0,
        brightness: 1,
        saturation: 1,
        hue: 0,
        metadata: 'strip',
        enlarge: false,
        flip: false,
      },
      { width: 200, height: 100 },
    ],
  ],
  ['angles a turn apart', 'webp', [{ rotate: 450 }, { rotate: 90 }, { rotate: -270 }]],
  ['a full turn', 'webp', [{ rotate: 360 }, { rotate: -360 }, {}]],
  ['quality equal to the default of webp', 'webp', [{ quality: 80 }, { q: 80 }, {}]],
  ['quality equal to the default of jpeg', 'jpeg', [{ quality: 82 }, {}]],
  ['quality equal to the default of avif', 'avif', [{ quality: 55 }, {}]],
  [
    'trim and sharpen by default',
    'png',
    [
      { trim: true, sharpen: true },
      { trim: 10, sharpen: 1 },
    ],
  ],
  ['no extension', 'png', [{ extend: 0 }, { extend: '0,0,0,0' }, { extend: { top: 0, right: 0, bottom: 0, left: 0 } }, {}]],
  [
    'one extension, spelt three ways',
    'png',
    [
      { extend: 4, bg: 'white' },
      { pad: '4,4,4,4', background: '#fff' },
      { extend: { top: 4, right: 4, bottom: 4, left: 4 }, bg: 'FFFFFFFF' },
    ],
  ],
  ['gravity with one side', 'webp', [{ width: 200, gravity: 'attention' }, { width: 200 }]],
  [
    'gravity with a fit that does not crop',
    'webp',
    [
      { width: 200, height: 100, fit: 'fill', gravity: 'north' },
      { width: 200, height: 100, fit: 'fill' },
    ],
  ],
  ['fit with one side', 'webp', [{ height: 100, fit: 'outside' }, { height: 100 }]],
  ['a background nothing uses', 'webp', [{ rotate: 90, background: 'red' }, { rotate: 90 }]],
  [
    'an overlay position when tiling',
    'webp',
    [
      { overlay: OTHER, overlay_tile: true, overlay_gravity: 'north', overlay_x: 5, overlay_y: 6 },
      { overlay: OTHER, overlay_tile: true },
    ],
  ],
  [
    'the default overlay position',
    'webp',
    [{ overlay: OTHER, overlay_gravity: 'southeast', overlay_x: 0, overlay_y: 0, overlay_opacity: 1 }, { overlay: OTHER }],
  ],
  [
    'the default text style',
    'webp',
    [
      { text: 'Hi', font: 'sans', text_size: 32, text_color: 'black', text_gravity: 'southeast', text_opacity: 1 },
      { text: 'Hi', text_colour: '#000' },
      text('text=Hi&text_gravity=se&text_size=32&text_opacity=1.0'),
      { text: 'Hi' },
    ],
  ],
  ['the default corner radius', 'png', [{ mask: 'rounded' }, { mask: 'rounded', radius: 16 }]],
  ['crop as a rectangle or its text', 'png', [{ crop: { left: 1, top: 2, width: 30, height: 40 } }, { crop: '1,2,30,40' }]],
  [
    'options as the command line writes them',
    'webp',
    [text('w=200&h=100&flip&rotate=-90&blur=1.5'), { width: 200, height: 100, flip: true, rotate: 270, blur: 1.5 }],
  ],
];

for (const [what, format, spellings] of EQUIVALENT) {
  test(`url() writes one URL for options that mean the same work: ${what}`, (t) => {
    const urls = spellings.map((options) => url(format, options));
    t.is(new Set(urls).size, 1, urls.join('\n'));
  });
}

test('url() writes jpg and tif as the formats they name', (t) => {
  t.is(pi.images.url(ID, { format: 'jpg', w: 10 }), url('jpeg', { w: 10 }));
  t.is(pi.images.url(ID, { format: 'tif', w: 10 }), url('tiff', { w: 10 }));
});

test('url() writes different URLs for different work', (t) => {
  const urls = [
    url('webp', {}),
    url('png', {}),
    url('webp', { width: 200 }),
    url('webp', { width: 201 }),
    url('webp', { width: 100, dpr: 3 }),
    url('webp', { width: 200, height: 100 }),
    url('webp', { width: 200, height: 100, gravity: 'north' }),
    url('webp', { width: 200, height: 100, fit: 'contain' }),
    url('webp', { width: 200, height: 100, fit: 'contain', background: 'red' }),
    url('webp', { width: 200, height: 100, fit: 'contain', background: 'blue' }),
    url('webp', { rotate: 90 }),
    url('webp', { rotate: 180 }),
    url('webp', { rotate: 45 }),
    url('webp', { rotate: 45, background: 'red' }),
    url('webp', { quality: 79 }),
    url('webp', { quality: 81 }),
    url('jpeg', { quality: 80 }),
    url('jpeg', {}),
    url('png', { trim: true }),
    url('png', { trim: 20 }),
    url('png', { mask: 'rounded' }),
    url('png', { mask: 'rounded', radius: 8 }),
    url('png', { mask: 'circle' }),
    url('webp', { overlay: OTHER }),
    url('webp', { overlay: OTHER, overlay_tile: true }),
    url('webp', { overlay: OTHER, overlay_x: 5 }),
    url('webp', { text: 'Hi' }),
    url('webp', { text: 'hi' }),
    url('webp', { text: 'Hi', font: 'mono' }),
    url('webp', { text: 'Hi', text_size: 33 }),
    url('webp', { text: 'Hi', text_color: 'white' }),
    url('webp', { text: 'Hi', text_gravity: 'north' }),
    url('webp', { text: 'Hi', text_opacity: 0.5 }),
  ];
  t.is(new Set(urls).size, urls.length, urls.join('\n'));
});

test('a preset goes as written: only the server knows its options', (t) => {
  t.is(
    url('webp', { preset: 'thumbnail', dpr: 2, fit: 'cover' } as TransformInput),
    `https://images.example.com/v1/images/${ID}.webp?fit=cover&dpr=2&preset=thumbnail`,
  );
});

test('options the server refuses go as written, for its answer to say why', (t) => {
  t.is(url('webp', { fit: 'inside' }), `https://images.example.com/v1/images/${ID}.webp?fit=inside`, 'fit needs a size');
  t.is(url('gif', { quality: 50 }), `https://images.example.com/v1/images/${ID}.gif?quality=50`, 'gif takes no quality');
  t.is(url('webp', { effort: 9 }), `https://images.example.com/v1/images/${ID}.webp?effort=9`, 'webp takes efforts 0-6');
  t.is(
    url('webp', { background: 'teal', rotate: 45 }),
    `https://images.example.com/v1/images/${ID}.webp?rotate=45&background=teal`,
    'not a colour',
  );
});

test('an image URL needs a format: without an extension the server answers the metadata', (t) => {
  t.throws(() => pi.images.url(ID, { w: 10 } as never), { instanceOf: TypeError, message: /needs a format/ });
});

/** Option sets of every kind, as a client might write them; some the server refuses. */
const VALUES: Readonly<Record<string, readonly unknown[]>> = {
  w: [1, 100, 333],
  height: [1, 50, 240],
  fit: ['cover', 'contain', 'fill', 'inside', 'outside'],
  enlarge: [true, false],
  dpr: [1, 1.5, 2, 3],
  g: ['centre', 'north', 'attention', 'entropy', 'southwest'],
  crop: [{ left: 0, top: 0, width: 10, height: 10 }, '5,5,20,30'],
  trim: [true, false, 1, 20, 255],
  rotate: [0, 90, -90, 45, 360, -360, 180, 12.5],
  bg: ['white', '#f00', '#ff000080', '0000ff'],
  flip: [true, false],
  flop: [true, false],
  pad: [0, 4, '1,2,3,4', { top: 0, right: 0, bottom: 0, left: 0 }],
  blur: [0.3, 2],
  sharpen: [true, false, 1, 2, 0.5],
  median: [3, 5],
  gamma: [1, 2.2],
  negate: [true],
  normalize: [true, false],
  greyscale: [true],
  brightness: [1, 0.5, 2],
  saturation: [1, 0],
  hue: [0, 90, -90],
  tint: ['red', '#00ff00'],
  threshold: [0, 128],
  mask: ['circle', 'ellipse', 'rounded', OTHER],
  radius: [8, 16],
  overlay: [OTHER],
  overlay_gravity: ['southeast', 'north', 'centre'],
  overlay_x: [0, 5, -5],
  overlay_y: [0, 6],
  overlay_opacity: [1, 0.5],
  overlay_tile: [true, false],
  flatten: [true, false],
  text: ['Hello', 'a <b> & c+d', 'Ünïcode 🙂'],
  font: ['sans', 'mono', 'serif', 'sans-bold'],
  text_size: [32, 12],
  text_colour: ['black', '#fff8'],
  text_gravity: ['southeast', 'north'],
  text_opacity: [1, 0.5],
  q: [1, 55, 80, 82, 100],
  lossless: [true, false],
  interlace: [true, false],
  effort: [0, 1, 4, 9, 10],
  metadata: ['strip', 'keep'],
  maxbytes: [1024, 20_000],
};

function* optionSets(count: number): Generator<readonly [TransformInput, OutputFormat]> {
  let seed = 7;
  const pick = <T>(items: readonly T[]): T => {
    seed = (seed * 48_271) % 2_147_483_647;
    return items[seed % items.length] as T;
  };
  const names = Object.keys(VALUES);
  for (let index = 0; index < count; index++) {
    const options: Record<string, unknown> = {};
    const size = pick([1, 2, 3, 4, 5, 6, 8]);
    while (Object.keys(options).length < size) {
      const name = pick(names);
      options[name] = pick(VALUES[name] ?? []);
    }
    yield [options, pick(OUTPUT_FORMATS)];
  }
}

/** What the server makes of options sent as JSON (they have no URL yet), or of a URL's query and extension. */
const serverForm = (options: object, format: OutputFormat): CanonicalTransform => canonicalise(parseOptions({ ...options }), format);
function serverFormOfUrl(address: string): CanonicalTransform {
  const parsed = new URL(address);
  const format = formatForExtension(parsed.pathname.slice(parsed.pathname.lastIndexOf('.') + 1));
  if (format === null) throw new Error(`no format in ${address}`);
  return canonicalise(parseOptions(Object.fromEntries(parsed.searchParams)), format);
}

/** A canonical form as a client writes options: a mask by its shape or image id. */
function asInput(canonical: CanonicalTransform): ImageUrlOptions {
  const { mask, ...rest } = canonical;
  return mask === undefined ? rest : { ...rest, mask: 'shape' in mask ? mask.shape : mask.image };
}

test('the server reads the URL url() writes back into the canonical form it was written from; written again, it is the same URL', (t) => {
  let accepted = 0;
  for (const [options, format] of optionSets(800)) {
    const written = url(format, options);
    const label = `${JSON.stringify(options)} as ${format} → ${written}`;
    let expected: CanonicalTransform;
    try {
      expected = serverForm(options, format);
    } catch {
      t.throws(() => serverFormOfUrl(written), undefined, `the server refuses the URL of options it refuses: ${label}`);
      continue;
    }
    accepted += 1;
    t.deepEqual(canonicalTransform(options, format), expected, `the client's canonical form is the server's: ${label}`);
    t.deepEqual(serverFormOfUrl(written), expected, `the server reads the URL into it: ${label}`);
    t.is(pi.images.url(ID, asInput(expected)), written, `written from that form, the URL is the same: ${label}`);
    t.is(url(format, text(transformQuery(options))), written, `the options' query text means the same: ${label}`);
  }
  t.log(`${accepted} of 800 option sets accepted by the server`);
  t.true(accepted >= 200);
});
