import test from 'ava';
import { parseOptions } from '../../lib/transform/options.ts';
import { ProgImage, type TransformInput } from '../../sdk/src/index.ts';
import { transformQuery } from '../../sdk/src/transform-query.ts';

/** The client writes transformations as the server reads them. */

const pi = new ProgImage({ baseUrl: 'https://images.example.com/' });
const ID = '1b09c5c8-2d0e-4bd2-9a5b-3c1f0f6c2a11';

test('url() writes canonical names in the order options apply, whatever order and spelling they were given in', (t) => {
  const a = pi.images.url(ID, { format: 'jpg', q: 80, flip: true, h: 100, w: 200, bg: 'white', r: 45 });
  const b = pi.images.url(ID, { width: 200, rotate: 45, height: 100, background: 'white', quality: 80, format: 'jpeg', flip: true });
  t.is(a, `https://images.example.com/v1/images/${ID}.jpeg?width=200&height=100&rotate=45&background=%23ffffffff&flip=true&quality=80`);
  t.is(a, b);
});

test('url() leaves out options that are off, and writes rectangles and sides as lists', (t) => {
  const url = pi.images.url(ID, {
    format: 'png',
    flop: false,
    crop: { left: 1, top: 2, width: 30, height: 40 },
    extend: { top: 1, right: 2, bottom: 3, left: 4 },
    preset: 'thumbnail',
  });
  t.is(url, `https://images.example.com/v1/images/${ID}.png?crop=1%2C2%2C30%2C40&extend=1%2C2%2C3%2C4&preset=thumbnail`);
});

test('url() writes download after the transformation: a parameter of the response, not of the canonical form', (t) => {
  t.is(
    pi.images.url(ID, { format: 'webp', download: 'Été à Paris', w: 100 }),
    `https://images.example.com/v1/images/${ID}.webp?width=100&download=%C3%89t%C3%A9+%C3%A0+Paris`,
  );
  t.is(pi.images.url(ID, { format: 'png', download: '' }), `https://images.example.com/v1/images/${ID}.png?download=`);
});

test('an option given under two spellings is refused before anything is sent', (t) => {
  t.throws(() => pi.images.url(ID, { format: 'png', w: 1, width: 2 }), {
    instanceOf: TypeError,
    message: /w repeats width|width repeats width/,
  });
});

const SAMPLES: readonly TransformInput[] = [
  { w: 320, h: 200, fit: 'contain', g: 'north', bg: '#ff000080', enlarge: true, dpr: 2 },
  { crop: { left: 0, top: 0, width: 10, height: 10 }, rotate: -45, flip: true, flop: false, extend: 4, blur: 1.5, sharpen: 2 },
  {
    trim: 20,
    median: 5,
    gamma: 2.2,
    negate: true,
    normalise: true,
    brightness: 1.2,
    saturation: 0,
    hue: 90,
    tint: 'red',
    grayscale: true,
    threshold: 128,
  },
  {
    mask: 'rounded',
    radius: 8,
    flatten: true,
    format: 'webp',
    quality: 70,
    lossless: false,
    effort: 4,
    metadata: 'keep',
    max_bytes: 20_000,
  },
  {
    overlay: ID,
    overlay_gravity: 'southwest',
    overlay_x: 5,
    overlay_y: 6,
    overlay_opacity: 0.5,
    overlay_tile: false,
    progressive: true,
    format: 'jpg',
  },
];

for (const [index, sample] of SAMPLES.entries()) {
  test(`the query the client writes means to the server what the options mean (sample ${index})`, (t) => {
    const query = Object.fromEntries(transformQuery(sample));
    t.deepEqual(parseOptions(query), parseOptions(Object.fromEntries(Object.entries(sample).filter(([, value]) => value !== false))));
  });
}
