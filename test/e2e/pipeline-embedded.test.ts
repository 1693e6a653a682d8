import { mkdtempSync } from 'node:fs';
import test from 'ava';
import sharp from 'sharp';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { registerInfectionFlows, registerPipelineFlows } from '../support/pipeline-flows.ts';
import { errorSchema, json, request, uploadAccepted, waitForFinalStatus } from '../support/api.ts';
import { readFixture } from '../support/fixtures.ts';
import { startProgImage } from '../support/progimage.ts';
import { registerTransformFlows } from '../support/transform-flows.ts';
import { serverConfig } from '../support/servers.ts';

/** `npm start`'s wiring: in-process bus, folder blobs, embedded catalog, under a fresh data dir. */
const startEmbedded = (extra: Readonly<Record<string, string>> = {}) =>
  startProgImage({
    PROGIMAGE_DATA_DIR: mkdtempSync(join(tmpdir(), 'progimage-e2e-')),
    PROGIMAGE_MAX_UPLOAD_BYTES: String(30 * 1024 * 1024),
    ...extra,
  });

registerPipelineFlows('embedded', () => startEmbedded());
registerTransformFlows('embedded', startEmbedded, { largeBatch: true });

// The embedded adapters with clamd reachable: scanning is "auto", so clamd is used.
registerInfectionFlows('embedded', async () => {
  const { scan } = await serverConfig();
  return startProgImage({
    PROGIMAGE_DATA_DIR: mkdtempSync(join(tmpdir(), 'progimage-e2e-')),
    PROGIMAGE_CLAMD_HOST: scan.clamd.host,
    PROGIMAGE_CLAMD_PORT: String(scan.clamd.port),
  });
});

test('embedded: configured presets are built for every image, and with presets only nothing else is made', async (t) => {
  const running = await startEmbedded({
    PROGIMAGE_PRESETS: JSON.stringify({ avatar: { w: 64, h: 64, fit: 'cover', mask: 'circle' } }),
    PROGIMAGE_PRESETS_ONLY: 'true',
  });
  t.teardown(() => running.stop());
  const { baseUrl } = running;
  const id = await uploadAccepted(baseUrl, await readFixture('Landscape_1.jpg'));
  const image = await waitForFinalStatus(baseUrl, id);
  t.deepEqual(image.variants.map((variant) => `${variant.name}.${variant.format}`).sort(), ['avatar.avif', 'avatar.jpeg', 'avatar.webp']);
  const avatar = await request(`${baseUrl}/v1/images/${id}/variants/avatar.webp`);
  const { data, info } = await sharp(avatar.bytes).raw().toBuffer({ resolveWithObject: true });
  t.deepEqual([info.width, info.height, info.channels], [64, 64, 4]);
  t.is(data[3], 0, 'the corner is outside the circle');
  t.is((await request(`${baseUrl}/v1/images/${id}.png?preset=avatar`)).status, 200);
  t.is((await request(`${baseUrl}/v1/images/${id}.png`)).status, 200, 'a plain conversion is not a derived image of its own');
  const refused = await request(`${baseUrl}/v1/images/${id}.png?w=10`);
  t.is(refused.status, 403);
  t.is(errorSchema.parse(json(refused)).error.code, 'presets_only');
});
