import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import sharp from 'sharp';
import { errorSchema, json, request, TEST_AUTH_ENV, uploadAccepted, waitForFinalStatus } from '../support/api.ts';
import { spawnChildService } from '../support/child-service.ts';
import { readFixture } from '../support/fixtures.ts';

/*
 * The memory bound at the defaults: a ProgImage process (every service, the
 * embedded default) takes in a 100-megapixel PNG, the largest image the
 * upload limits admit, and is asked for it in every format, at full size and
 * as a thumbnail, and as an overlay, a tile and a mask over a small image.
 * The plain AVIF (about 2.3 GB of libheif's working memory
 * before the budget) is refused as too costly; everything else is served; the
 * process's peak RSS stays under 1 GB.
 */

const SIDE = 10_000;
const BOUND_BYTES = 1024 * 1024 * 1024;

async function peakRss(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/^VmHWM:\s+(\d+) kB$/m.exec(status)?.[1] ?? Number.NaN) * 1024;
}

test(`a ${SIDE}x${SIDE} image in every format keeps the process under 1 GB; what would not fit is a 422 naming the memory it would need`, async (t) => {
  t.timeout(600_000);
  const dataDir = await mkdtemp(join(tmpdir(), 'progimage-memory-'));
  const progimage = await spawnChildService('main.ts', {
    ...process.env,
    ...TEST_AUTH_ENV,
    PROGIMAGE_DATA_DIR: dataDir,
    PROGIMAGE_LOG_LEVEL: 'warn',
  });
  t.teardown(async () => {
    await progimage.stop();
    await rm(dataDir, { recursive: true, force: true });
  });
  await progimage.ready(120_000);
  const { baseUrl, pid } = progimage;
  if (pid === undefined) throw new Error('the process has a pid');

  const png = await sharp({ create: { width: SIDE, height: SIDE, channels: 3, background: '#336699' } })
    .png()
    .toBuffer();
  const id = await uploadAccepted(baseUrl, png, 'image/png');
  t.is((await waitForFinalStatus(baseUrl, id)).status, 'ready');

  const avif = await request(`${baseUrl}/v1/images/${id}.avif`);
  t.is(avif.status, 422);
  t.like(errorSchema.parse(json(avif)).error, { code: 'too_costly', maxMemoryMb: 768 });
  for (const path of ['.jpg', '.png', '.webp', '.tiff', '.avif?w=1000', '.webp?w=300', '.jpg?w=5000&rotate=90']) {
    const served = await request(`${baseUrl}/v1/images/${id}${path}`);
    t.is(served.status, 200, `${path}: ${served.bytes.toString('utf8', 0, 300)}`);
  }
  const small = await uploadAccepted(baseUrl, await readFixture('320x240.jpg'));
  t.is((await waitForFinalStatus(baseUrl, small)).status, 'ready');
  for (const query of [`overlay=${id}&overlay_tile=true`, `overlay=${id}`, `mask=${id}`]) {
    const composed = await request(`${baseUrl}/v1/images/${small}.png?${query}`);
    t.is(composed.status, 200, `the ${SIDE}x${SIDE} image as ${query.split('=')[0] ?? ''}: ${composed.bytes.toString('utf8', 0, 300)}`);
  }
  const peak = await peakRss(pid);
  t.log(`peak RSS ${Math.round(peak / 1024 / 1024)} MB`);
  t.true(peak < BOUND_BYTES, `peak RSS ${Math.round(peak / 1024 / 1024)} MB`);
});
