/**
 * `npm run bench:embedded`: the embedded catalog store with many images.
 * Inserts `--images` image records (default 100,000) through the catalog
 * port, then, in a fresh process, times opening the store and its first
 * query, the latency of `get(id)` through the port and of the backlog
 * counts, and reads the process's RSS. The targets are those of the embedded default: start-up
 * under 3 s and RSS under 300 MB at 100,000 images.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { openImagesCollection } from '../catalog/images-collection.ts';
import type { ImageRecord } from '../catalog/image-record.ts';
import { createEmbeddedCatalogStore } from '../lib/adapters/embedded-catalog-store.ts';
import { countBacklog, countPipeline, openPipelineImages } from '../lib/backlog/pipeline-images.ts';
import { tenantSchema } from '../lib/ids.ts';

const { values } = parseArgs({
  options: {
    images: { type: 'string', default: '100000' },
    gets: { type: 'string', default: '20000' },
    'data-dir': { type: 'string' },
    measure: { type: 'boolean', default: false },
  },
});
const images = Number(values.images);
const gets = Number(values.gets);

/** A lowercase UUID made from `index`, so that the measuring process can name stored images without a list. */
const imageId = (index: number): string => `00000000-0000-4000-8000-${index.toString(16).padStart(12, '0')}`;

/** An image as the catalog holds it once ready, with its original and master. */
function readyImage(index: number): ImageRecord {
  const at = new Date(Date.UTC(2026, 0, 1) + index * 1000).toISOString();
  const id = imageId(index);
  return {
    id,
    tenant: `tenant-${index % 10}`,
    status: 'ready',
    createdAt: at,
    updatedAt: at,
    original: {
      key: `originals/tenant-${index % 10}/${id}`,
      format: 'jpeg',
      contentType: 'image/jpeg',
      bytes: 829_000 + index,
      sha256: index.toString(16).padStart(64, '0'),
      width: 2725,
      height: 2225,
      filename: `photo-${index}.jpg`,
      at,
    },
    master: {
      key: `derived/tenant-${index % 10}/${id}/master.jpg`,
      format: 'jpeg',
      width: 2725,
      height: 2225,
      bytes: 512_000,
      pages: 1,
      at,
    },
    outcomesAnnounced: ['image.ready'],
  };
}

/** The mean of `times` runs of `work`, in milliseconds, after one untimed. */
async function meanMs(times: number, work: () => Promise<unknown>): Promise<number> {
  await work();
  const before = performance.now();
  for (let done = 0; done < times; done += 1) await work();
  return (performance.now() - before) / times;
}

const percentile = (sorted: readonly number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? NaN;

/** In a process of its own: open, first query, then `gets` random gets; prints one JSON line. */
async function measure(dataDir: string): Promise<void> {
  const started = performance.now();
  const store = await createEmbeddedCatalogStore(dataDir);
  const collection = await openImagesCollection(store);
  const first = await collection.find({ where: { tenant: 'tenant-3', status: 'ready' }, limit: 20 });
  const startupMs = performance.now() - started;
  if (first.length !== 20) throw new Error(`the first query found ${first.length} images, not 20`);
  const latencies: number[] = [];
  for (let done = 0; done < gets; done += 1) {
    const id = imageId(Math.floor(Math.random() * images));
    const before = performance.now();
    const stored = await collection.get(id);
    latencies.push(performance.now() - before);
    if (stored === null) throw new Error(`image ${id} is missing`);
  }
  latencies.sort((a, b) => a - b);
  const pipelineImages = await openPipelineImages(store);
  const tenant = tenantSchema.parse('tenant-3');
  const result = {
    startupMs,
    getP50Ms: percentile(latencies, 0.5),
    getP99Ms: percentile(latencies, 0.99),
    backlogMs: await meanMs(20, () => countPipeline(pipelineImages)),
    tenantBacklogMs: await meanMs(20, () => countBacklog(pipelineImages, tenant)),
    rssMb: process.memoryUsage().rss / 2 ** 20,
  };
  await store.close();
  console.log(JSON.stringify(result));
}

async function seed(dataDir: string): Promise<number> {
  const started = performance.now();
  const store = await createEmbeddedCatalogStore(dataDir);
  const collection = await openImagesCollection(store);
  for (let index = 0; index < images; index += 1) {
    if ((await collection.save(readyImage(index), null)) !== 1) throw new Error(`image ${index} was already stored`);
    if ((index + 1) % 10_000 === 0) console.error(`inserted ${index + 1} of ${images}`);
  }
  await store.close();
  return (performance.now() - started) / 1000;
}

if (values.measure) {
  await measure(values['data-dir'] ?? '');
} else {
  const dataDir = mkdtempSync(join(tmpdir(), 'progimage-embedded-scale-'));
  try {
    const seedSeconds = await seed(dataDir);
    // The runtime's settings this bench runs with (npm run bench:embedded: infra/progimage-node's) and its tsx.
    const args = [
      ...process.execArgv,
      'bench/embedded-scale.ts',
      '--measure',
      '--data-dir',
      dataDir,
      '--images',
      String(images),
      '--gets',
      String(gets),
    ];
    const measured = JSON.parse(execFileSync(process.execPath, args, { encoding: 'utf8' })) as Record<string, number>;
    // A bare Node process with the same settings, for comparison: what the store adds to the RSS.
    const bareRss = Number(
      execFileSync(process.execPath, [...process.execArgv, '-e', 'console.log(process.memoryUsage().rss / 2 ** 20)'], { encoding: 'utf8' }),
    );
    const f = (value: number | undefined): string => (value ?? NaN).toFixed(2);
    console.log(
      `embedded catalog store, ${images} images (inserted through the port in ${seedSeconds.toFixed(0)} s, one fsync'd save each)`,
    );
    console.log(`  start-up (open + first query): ${f(measured.startupMs)} ms   target < 3000 ms`);
    console.log(
      `  get(id) over ${gets} random ids: p50 ${(measured.getP50Ms ?? NaN).toFixed(3)} ms, p99 ${(measured.getP99Ms ?? NaN).toFixed(3)} ms`,
    );
    console.log(
      `  the pipeline's backlog count (the api process's, every 5 s): ${(measured.backlogMs ?? NaN).toFixed(3)} ms; ` +
        `one tenant's (each upload of a tenant with a limit of images in flight): ${(measured.tenantBacklogMs ?? NaN).toFixed(3)} ms`,
    );
    console.log(`  RSS after: ${f(measured.rssMb)} MB (a bare node + tsx: ${f(bareRss)} MB)   target < 300 MB`);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}
