import test from 'ava';
import sharp from 'sharp';
import { errorSchema, json, request, uploadAccepted, waitForFinalStatus, type Reply } from '../support/api.ts';
import { readFixture } from '../support/fixtures.ts';
import { startOnServers, type ProgImageOnServers } from '../support/on-servers.ts';

/*
 * Text over a stored image and over request data, asked for in the URL and
 * served by every service on the real servers; refusals are JSON naming the
 * option.
 */

let running: Promise<{ readonly servers: ProgImageOnServers; readonly id: string }> | undefined;
const deployment = () =>
  (running ??= (async () => {
    const servers = await startOnServers('text-overlay');
    const id = await uploadAccepted(servers.progimage.baseUrl, await readFixture('Landscape_1.jpg'));
    const image = await waitForFinalStatus(servers.progimage.baseUrl, id);
    if (image.status !== 'ready') throw new Error(`the image ended ${image.status}`);
    return { servers, id };
  })());
test.after.always(async () => {
  await (await running)?.servers.stop();
});

/** The decoded pixels of an image answer. */
async function pixels(reply: Reply): Promise<{ data: Buffer; width: number; height: number }> {
  const { data, info } = await sharp(reply.bytes).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

/** How many pixels of the top and the bottom half of the image differ between the two. */
function changedHalves(a: { data: Buffer; width: number; height: number }, b: { data: Buffer }): { top: number; bottom: number } {
  const counts = { top: 0, bottom: 0 };
  for (let pixel = 0; pixel < a.width * a.height; pixel += 1) {
    const start = pixel * 3;
    if (a.data.compare(b.data, start, start + 3, start, start + 3) === 0) continue;
    if (pixel < (a.width * a.height) / 2) counts.top += 1;
    else counts.bottom += 1;
  }
  return counts;
}

test('GET of a stored image with text draws the text where asked', async (t) => {
  const { servers, id } = await deployment();
  const base = `${servers.progimage.baseUrl}/v1/images/${id}.png?w=400`;
  const plain = await request(base);
  t.is(plain.status, 200);
  const query = new URLSearchParams({
    text: 'Progimage <b>&amp; ünïcode',
    text_color: 'white',
    text_size: '28',
    text_gravity: 'north',
    font: 'sans-bold',
  });
  const withText = await request(`${base}&${query.toString()}`);
  t.is(withText.status, 200, withText.bytes.toString('utf8', 0, 300));
  t.is(withText.headers.get('content-type'), 'image/png');
  const before = await pixels(plain);
  const after = await pixels(withText);
  t.deepEqual([after.width, after.height], [400, 300]);
  const changed = changedHalves(before, after);
  t.true(changed.top > 500, `the text is drawn at the top: ${changed.top} pixels changed`);
  t.is(changed.bottom, 0, 'and nowhere else');
  const again = await request(`${base}&${query.toString()}`);
  t.deepEqual(again.bytes, withText.bytes, 'served again, from the stored result');
});

test('POST /v1/transform draws text over request data', async (t) => {
  const { servers } = await deployment();
  const reply = await request(
    `${servers.progimage.baseUrl}/v1/transform?w=300&format=png&text=Hello&text_gravity=south&text_color=%23ff0`,
    {
      method: 'POST',
      body: await readFixture('Landscape_1.jpg'),
      headers: { 'content-type': 'image/jpeg' },
    },
  );
  t.is(reply.status, 200, reply.bytes.toString('utf8', 0, 300));
  const plain = await request(`${servers.progimage.baseUrl}/v1/transform?w=300&format=png`, {
    method: 'POST',
    body: await readFixture('Landscape_1.jpg'),
    headers: { 'content-type': 'image/jpeg' },
  });
  const changed = changedHalves(await pixels(plain), await pixels(reply));
  t.is(changed.top, 0);
  t.true(changed.bottom > 200, `the text is drawn at the bottom: ${changed.bottom} pixels changed`);
});

test('text that cannot be drawn is a 400 in JSON naming the option', async (t) => {
  const { servers, id } = await deployment();
  const cases: readonly (readonly [string, string])[] = [
    ['text=hi&font=comic-sans', 'text_font'],
    ['text=hi&text_color=chartreuse', 'text_color'],
    [`text=${'x'.repeat(201)}`, 'text'],
    ['text=hi&text_size=1000', 'text_size'],
    ['text=hi&text_opacity=2', 'text_opacity'],
    ['text_size=40', 'text_size'],
    // Fits no 100x75 image at this size.
    [`w=100&text=${'y'.repeat(200)}&text_size=100`, 'text'],
  ];
  for (const [query, option] of cases) {
    const reply = await request(`${servers.progimage.baseUrl}/v1/images/${id}.webp?${query}`);
    t.is(reply.status, 400, query);
    t.is(reply.headers.get('content-type'), 'application/json; charset=utf-8', query);
    const { error } = errorSchema.parse(json(reply));
    t.is(error.code, 'invalid_transform', query);
    t.is(error.option, option, query);
  }
});
