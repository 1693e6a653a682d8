import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import sharp from 'sharp';
import { z } from 'zod';
import { errorSchema, imageSchema, json, request, upload, waitForFinalStatus } from '../support/api.ts';
import { startProgImage } from '../support/progimage.ts';

/*
 * An image WebP cannot hold (16384 pixels wide; WebP stops at 16383), on the
 * embedded default: it is taken in and served, its own links and variants
 * never name a WebP of it, and asking for one is a 400 naming the limit.
 */

const WIDTH = 16_384;
const HEIGHT = 16;

const uploadedSchema = z.object({ id: z.string(), links: z.record(z.string(), z.string()) });

test(`an image ${WIDTH} pixels wide: no WebP in its links or variants, a WebP asked for is a 400 naming the limit, every other format is served`, async (t) => {
  t.timeout(300_000);
  const dataDir = await mkdtemp(join(tmpdir(), 'progimage-format-limits-'));
  const running = await startProgImage({
    PROGIMAGE_DATA_DIR: dataDir,
    PROGIMAGE_PRESETS: JSON.stringify({ thumbnail: { width: 200, height: 200, fit: 'inside' }, grey: { grayscale: true } }),
  });
  t.teardown(async () => {
    await running.stop();
    await rm(dataDir, { recursive: true, force: true });
  });
  const { baseUrl } = running;
  const png = await sharp({ create: { width: WIDTH, height: HEIGHT, channels: 3, background: '#336699' } })
    .png()
    .toBuffer();

  const accepted = await upload(baseUrl, png, 'image/png');
  t.is(accepted.status, 202);
  const { id, links } = uploadedSchema.parse(json(accepted));
  t.deepEqual(links, { self: `/v1/images/${id}` }, 'the upload answer names no WebP');

  const image = await waitForFinalStatus(baseUrl, id);
  t.is(image.status, 'ready', JSON.stringify(image.failure));
  t.deepEqual(
    image.variants.map((variant) => `${variant.name}.${variant.format}`).sort(),
    ['grey.avif', 'grey.png', 'thumbnail.avif', 'thumbnail.png', 'thumbnail.webp'],
    'every variant but a WebP too wide for it',
  );
  const view = imageSchema.extend({ links: z.record(z.string(), z.string()) }).parse(json(await request(`${baseUrl}/v1/images/${id}`)));
  t.false(
    Object.values(view.links).some((link) => link.endsWith('.webp')),
    JSON.stringify(view.links),
  );

  for (const path of [`/v1/images/${id}.webp`, `/v1/images/${id}.webp?grayscale=true`, `/v1/images/${id}/variants/grey.webp`]) {
    const refused = await request(`${baseUrl}${path}`);
    t.is(refused.status, 400, path);
    t.like(errorSchema.loose().parse(json(refused)).error, { code: 'format_limit_exceeded', format: 'webp', maxSide: 16_383 }, path);
  }
  for (const extension of ['png', 'avif', 'jpg', 'gif', 'tiff']) {
    const served = await request(`${baseUrl}/v1/images/${id}.${extension}`);
    t.is(served.status, 200, `${extension}: ${served.bytes.toString('utf8', 0, 200)}`);
    if (served.status === 200) t.is((await sharp(served.bytes).metadata()).width, WIDTH, extension);
  }
  const fitted = await request(`${baseUrl}/v1/images/${id}.webp?w=16383`);
  t.is(fitted.status, 200, 'a WebP of a size WebP holds');
});
