import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { z } from 'zod';
import { waitUntil } from '../../lib/wait.ts';
import { json, request, uploadAccepted, waitForFinalStatus } from '../support/api.ts';
import { readFixture } from '../support/fixtures.ts';
import { parsePrometheusText, sampleSum } from '../support/prometheus.ts';
import { startProgImage } from '../support/progimage.ts';

const statsSchema = z.object({ id: z.string(), hits: z.number(), byRendition: z.record(z.string(), z.number()) });
const HITS = 10_000;
const FLUSH_AFTER_HITS = 500;

test('10,000 hits are counted per image and rendition with a few dozen writes, and /metrics parses and counts what happened', async (t) => {
  t.timeout(300_000);
  const dataDir = await mkdtemp(join(tmpdir(), 'progimage-stats-'));
  const progimage = await startProgImage({
    PROGIMAGE_DATA_DIR: dataDir,
    PROGIMAGE_STATS_FLUSH_HITS: String(FLUSH_AFTER_HITS),
    PROGIMAGE_STATS_FLUSH_MS: '3600000',
  });
  t.teardown(async () => {
    await progimage.stop();
    await rm(dataDir, { recursive: true, force: true });
  });
  const { baseUrl } = progimage;
  const popular = await uploadAccepted(baseUrl, await readFixture('320x240.jpg'));
  const quiet = await uploadAccepted(baseUrl, await readFixture('with-alpha.png'));
  const image = await waitForFinalStatus(baseUrl, popular);
  t.is((await waitForFinalStatus(baseUrl, quiet)).status, 'ready');
  const thumbnail = image.variants.find((variant) => variant.name === 'thumbnail' && variant.format === 'webp');
  if (thumbnail === undefined) throw new Error('the image has a WebP thumbnail');

  const paths = [thumbnail.url, `/v1/images/${popular}.png`];
  let next = 0;
  const client = async () => {
    for (let index = next++; index < HITS; index = next++) {
      const reply = await request(`${baseUrl}${paths[index % 2] ?? ''}`);
      if (reply.status !== 200) throw new Error(`hit ${index} answered ${reply.status}`);
    }
  };
  await Promise.all(Array.from({ length: 16 }, client));
  t.is((await request(`${baseUrl}/v1/images/${quiet}.webp`)).status, 200);

  const stats = statsSchema.parse(json(await request(`${baseUrl}/v1/images/${popular}/stats`)));
  t.deepEqual(stats.byRendition, { 'variants/thumbnail.webp': HITS / 2, png: HITS / 2 });
  t.is(stats.hits, HITS);
  // The store holds them once a flush has run (here: every 500 hits, and 10,000 is a multiple).
  const top = await waitUntil(
    async () => {
      const { images } = z.object({ images: z.array(statsSchema) }).parse(json(await request(`${baseUrl}/v1/stats/top?limit=1`)));
      return images[0]?.hits === HITS ? images : false;
    },
    { timeoutMs: 30_000, intervalMs: 100, description: 'the hits to be flushed' },
  );
  t.deepEqual(
    top.map((entry) => entry.id),
    [popular],
  );

  const metrics = await request(`${baseUrl}/metrics`);
  t.is(metrics.status, 200);
  const samples = parsePrometheusText(metrics.bytes.toString('utf8'));
  const writes = sampleSum(samples, 'progimage_stats_writes_total');
  t.true(writes >= 1 && writes <= 2 * (HITS / FLUSH_AFTER_HITS), `${writes} writes for ${HITS} hits`);
  const served = (route: string) => sampleSum(samples, 'progimage_http_request_duration_seconds_count', { route, status: '200' });
  t.is(served('/v1/images/:id/variants/:file'), HITS / 2);
  t.true(served('/v1/images/:name') >= HITS / 2);

  // What the pipeline did for the two uploads.
  t.is(sampleSum(samples, 'progimage_scan_verdicts_total', { verdict: 'unscanned' }), 2);
  for (const group of ['progimage-scan', 'progimage-strip', 'progimage-compress', 'progimage-variants']) {
    t.is(sampleSum(samples, 'progimage_stage_duration_seconds_count', { group, outcome: 'handled' }), 2, group);
    t.is(sampleSum(samples, 'progimage_consumer_lag_seconds_count', { group }), 2, group);
  }
  const originals = (await readFixture('320x240.jpg')).length + (await readFixture('with-alpha.png')).length;
  t.is(sampleSum(samples, 'progimage_blob_bytes_written_total', { prefix: 'originals' }), originals);
  t.true(sampleSum(samples, 'progimage_blob_bytes_written_total', { prefix: 'derived' }) > 0);
  t.true(samples.some((sample) => sample.name === 'progimage_transforms_in_flight' && sample.value === 0));
});
