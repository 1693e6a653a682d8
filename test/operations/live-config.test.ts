import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import sharp from 'sharp';
import { z } from 'zod';
import { waitUntil } from '../../lib/wait.ts';
import { errorSchema, json, request, upload, uploadAccepted, waitForFinalStatus } from '../support/api.ts';
import { readFixture } from '../support/fixtures.ts';
import { startProgImage } from '../support/progimage.ts';
import { startSecured } from '../support/secured.ts';

/** A configuration file in a folder of its own, rewritten as editors save: a new file renamed over the old one. */
async function liveFile(settings: Readonly<Record<string, unknown>>) {
  const dir = await mkdtemp(join(tmpdir(), 'progimage-live-'));
  const file = join(dir, 'live.json');
  const write = async (next: Readonly<Record<string, unknown>>): Promise<void> => {
    await writeFile(`${file}.tmp`, JSON.stringify(next));
    await rename(`${file}.tmp`, file);
  };
  await write(settings);
  return { file, write, remove: () => rm(dir, { recursive: true, force: true }) };
}

const CHANGE_TIMEOUT_MS = 30_000;

// The image limits (PROGIMAGE_MAX_INPUT_PIXELS, …) are the process's, as each server has a process of its
// own in production; a test that changes them runs alone, or another test's server would work under them.

test.serial('scanning switched off and a preset added in the configuration file take effect without a restart', async (t) => {
  t.timeout(300_000);
  const live = await liveFile({ PROGIMAGE_SCAN: 'on' });
  const progimage = await startSecured('live-config', { PROGIMAGE_CONFIG_FILE: live.file });
  t.teardown(async () => {
    await progimage.stop();
    await live.remove();
  });
  const { baseUrl } = progimage.running;

  const scanned = await waitForFinalStatus(baseUrl, await uploadAccepted(baseUrl, await readFixture('320x240.jpg')));
  t.is(scanned.status, 'ready');
  t.is(scanned.stages.scan.verdict, 'clean');
  const square = `${baseUrl}/v1/images/${scanned.id}/variants/square.webp`;
  t.is((await request(square)).status, 404);

  await live.write({ PROGIMAGE_SCAN: 'off', PROGIMAGE_PRESETS: { square: { width: 50, height: 50, fit: 'cover' } } });
  // Both settings come in force at once: the preset being served says scanning is off too.
  let lastReply = '';
  const variant = await waitUntil(
    async () => {
      const reply = await request(square);
      lastReply = `${reply.status} ${reply.status === 200 ? '' : reply.bytes.toString('utf8').slice(0, 300)}`;
      return reply.status === 200 ? reply : false;
    },
    { timeoutMs: CHANGE_TIMEOUT_MS, intervalMs: 200, description: 'the preset of the new file to be served' },
  ).catch((error: unknown) => {
    throw new Error(`${String(error)}; the variant's last answer: ${lastReply}`, { cause: error });
  });
  t.like(await sharp(variant.bytes).metadata(), { format: 'webp', width: 50, height: 50 });

  const unscanned = await waitForFinalStatus(baseUrl, await uploadAccepted(baseUrl, await readFixture('with-alpha.png')));
  t.is(unscanned.status, 'ready');
  t.is(unscanned.stages.scan.verdict, 'unscanned');
  t.deepEqual(
    unscanned.variants.map((item) => item.name).filter((name, index, all) => all.indexOf(name) === index),
    ['square'],
  );
});

test.serial('upload and pixel limits changed in the configuration file apply to the next uploads', async (t) => {
  t.timeout(120_000);
  const dataDir = await mkdtemp(join(tmpdir(), 'progimage-live-data-'));
  const live = await liveFile({ PROGIMAGE_MAX_UPLOAD_BYTES: 10_000_000 });
  const progimage = await startProgImage({ PROGIMAGE_DATA_DIR: dataDir, PROGIMAGE_CONFIG_FILE: live.file });
  t.teardown(async () => {
    await progimage.stop();
    await live.remove();
    await rm(dataDir, { recursive: true, force: true });
  });
  const { baseUrl } = progimage;
  const photo = await readFixture('320x240.jpg');
  const accepted = [await uploadAccepted(baseUrl, photo)];

  await live.write({ PROGIMAGE_MAX_UPLOAD_BYTES: 100 });
  const refused = await waitUntil(
    async () => {
      const reply = await upload(baseUrl, photo, 'image/jpeg');
      if (reply.status === 202) accepted.push(z.object({ id: z.string() }).parse(json(reply)).id);
      return reply.status === 413 ? reply : false;
    },
    { timeoutMs: CHANGE_TIMEOUT_MS, intervalMs: 200, description: 'the lower upload limit to be in force' },
  );
  t.like(errorSchema.parse(json(refused)).error, { code: 'payload_too_large', maxBytes: 100 });
  // Taken in under the old limits, they are made under them too, before the pixel limit goes down.
  for (const id of accepted) t.is((await waitForFinalStatus(baseUrl, id)).status, 'ready');

  // The upload limit left out goes back to the environment's.
  await live.write({ PROGIMAGE_MAX_INPUT_PIXELS: 320 * 240 - 1 });
  const tooManyPixels = await waitUntil(
    async () => {
      const reply = await upload(baseUrl, photo, 'image/jpeg');
      return reply.status === 413 ? false : reply;
    },
    { timeoutMs: CHANGE_TIMEOUT_MS, intervalMs: 200, description: 'the default upload limit and the lower pixel limit to be in force' },
  );
  t.is(tooManyPixels.status, 422);
  t.like(errorSchema.parse(json(tooManyPixels)).error, { code: 'too_many_pixels' });
});
