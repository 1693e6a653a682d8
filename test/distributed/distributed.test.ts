import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { fileURLToPath } from 'node:url';
import test, { type ExecutionContext } from 'ava';
import sharp from 'sharp';
import { waitUntil } from '../../lib/wait.ts';
import { NotFoundError, OUTPUT_FORMATS, ProgImage, type BatchEvent, type UploadedImage } from '../../sdk/src/index.ts';
import { TEST_API_KEY } from '../support/api.ts';
import { startDistributed, type DistributedProgImage } from '../support/distributed.ts';
import { startFixtureServer, type FixtureServer } from '../support/fixture-server.ts';
import { fixturePath, readFixture } from '../support/fixtures.ts';
import { runCommand } from '../support/run-command.ts';

/**
 * The distributed layout as a user meets it: `npm run start:distributed`
 * (every service its own process, two copies of each processor, on the real
 * servers), then only its one base URL, through the client library and the
 * progimage command.
 */

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const WAIT = { timeout: 180_000 };
/** Kill a transform processor once this many items are done and others are not. */
const KILL_AFTER_DONE = 10;
const ITEMS = 60;

let fixtures: FixtureServer | undefined;
let running: DistributedProgImage | undefined;

const layout = async (): Promise<DistributedProgImage> => {
  fixtures ??= await startFixtureServer();
  return (running ??= await startDistributed('distributed', { PROGIMAGE_FETCH_ALLOW_HOSTS: fixtures.host }));
};
const client = async () => new ProgImage({ baseUrl: (await layout()).baseUrl, apiKey: TEST_API_KEY });

test.after.always(async () => {
  await running?.stop();
  await fixtures?.close();
});

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Every link in an answer resolves on the base URL that gave it. */
async function assertLinksResolve(t: ExecutionContext, baseUrl: string, links: Readonly<Record<string, string | undefined>>) {
  for (const [name, path] of Object.entries(links)) {
    if (path === undefined) continue;
    const response = await fetch(new URL(path, baseUrl), { headers: { authorization: `Bearer ${TEST_API_KEY}` } });
    await response.arrayBuffer();
    t.is(response.status, 200, `links.${name} (${path}) resolves on ${baseUrl}`);
  }
}

test.serial('uploads (one, many, a URL) become ready, and every link they return resolves on the one base URL', async (t) => {
  const pi = await client();
  const { baseUrl } = await layout();
  const one = await pi.images.upload(await readFixture('320x240.jpg'));
  const many = await pi.images.uploadMany([fixturePath('4.webp'), fixturePath('with-alpha.png'), fixturePath('Landscape_3.jpg')], {
    concurrency: 3,
  });
  const fromUrl = await pi.images.upload(new URL(fixtures?.url('grey-plus-alpha.gif') ?? ''));
  const uploaded: UploadedImage[] = [one, ...many.flatMap((outcome) => (outcome.ok ? [outcome.image] : [])), fromUrl];
  t.is(uploaded.length, 5, 'every file of uploadMany was accepted');
  const ids = uploaded.map((image) => image.id);
  const ready = await Promise.all(ids.map((id) => pi.images.waitUntilReady(id, WAIT)));
  t.deepEqual(
    ready.map((image) => image.status),
    ids.map(() => 'ready'),
  );
  t.like(ready[0], { width: 320, height: 240, format: 'jpeg' });
  t.like(ready.at(-1), { format: 'gif' });
  for (const image of uploaded) await assertLinksResolve(t, baseUrl, image.links);
  for (const image of ready) {
    await assertLinksResolve(t, baseUrl, image.links);
    await assertLinksResolve(t, baseUrl, Object.fromEntries(image.variants.map((variant) => [variant.name, variant.url])));
  }
});

test.serial(
  'a stored image is served in every output format, transformed, and through a signed URL without a key; then deleted',
  async (t) => {
    const pi = await client();
    const { baseUrl } = await layout();
    const { id } = await pi.images.upload(await readFixture('Landscape_1.jpg'));
    await pi.images.waitUntilReady(id, WAIT);
    for (const format of OUTPUT_FORMATS) {
      const bytes = await buffer(await pi.images.download(id, { format, w: 64 }));
      const metadata = await sharp(bytes).metadata();
      t.is(metadata.format === 'heif' ? 'avif' : metadata.format, format, `${id}.${format}`);
      t.is(metadata.width, 64);
    }
    const transformed = await pi.transform(await readFixture('with-alpha.png'), { w: 50, format: 'webp', grayscale: true });
    t.is(transformed.contentType, 'image/webp');
    t.like(await sharp(transformed.data).metadata(), { format: 'webp', width: 50 });

    const signed = await pi.images.signedUrl(id, { format: 'png', w: 40 }, { expiresIn: 300 });
    const anonymous = await fetch(new URL(signed.url, baseUrl));
    t.is(anonymous.status, 200, 'a signed URL needs no key');
    t.like(await sharp(Buffer.from(await anonymous.arrayBuffer())).metadata(), { format: 'png', width: 40 });
    t.is(
      (await fetch(new URL(pi.images.url(id, { format: 'png', w: 40 }), baseUrl))).status,
      401,
      'the same URL unsigned and without a key is refused',
    );

    await pi.images.delete(id);
    await t.throwsAsync(pi.images.get(id), { instanceOf: NotFoundError });
  },
);

test.serial('the progimage command uploads and waits until ready against the one base URL', async (t) => {
  const { baseUrl } = await layout();
  const result = await runCommand(
    process.execPath,
    ['--import', 'tsx', join(REPO_ROOT, 'sdk/src/cli/main.ts'), 'upload', '--wait', '--json', fixturePath('320x240.jpg')],
    {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, PROGIMAGE_URL: baseUrl, PROGIMAGE_API_KEY: TEST_API_KEY },
    },
  );
  t.is(result.code, 0, result.stderr);
  const [uploaded] = JSON.parse(result.stdout.toString('utf8')) as { id: string; status?: string }[];
  t.truthy(uploaded?.id);
  t.is((await (await client()).images.get(uploaded?.id ?? '')).status, 'ready');
});

test.serial(
  'a batch reports progress and completes every item while one copy of the transform processor is killed with SIGKILL',
  async (t) => {
    const pi = await client();
    const distributed = await layout();
    const names = ['320x240.jpg', 'Portrait_1.jpg', 'flowers.jpeg', ...[2, 3, 4, 5, 6].map((n) => `Landscape_${n}.jpg`)];
    const images = await Promise.all(names.map(async (name) => (await pi.images.upload(fixturePath(name))).id));
    for (const id of images) await pi.images.waitUntilReady(id, WAIT);
    const transforms = [
      { w: 120, format: 'webp' as const },
      { w: 60, h: 60, fit: 'cover' as const, format: 'avif' as const },
    ];
    const total = ITEMS;
    const batch = await pi.batches.create({
      images: Array.from({ length: total }, (_, index) => images[index % images.length] ?? ''),
      transforms,
    });
    t.is(batch.counts.total, total);

    const atKill = await waitUntil(
      async () => {
        const { counts } = await pi.batches.get(batch.id, { limit: 1 });
        return counts.done >= KILL_AFTER_DONE ? counts : false;
      },
      { timeoutMs: 180_000, intervalMs: 100, description: `${KILL_AFTER_DONE} items of the batch to be done` },
    );
    const victim = distributed.pid('transform#1');
    process.kill(victim, 'SIGKILL');
    t.true(atKill.pending > 0, `the kill came mid-batch (${JSON.stringify(atKill)})`);

    const events: BatchEvent[] = [];
    for await (const event of pi.batches.watch(batch.id, { timeout: 300_000 })) events.push(event);
    t.true(events.slice(0, -1).every((event) => event.type === 'progress'));
    t.like(events.at(-1), { type: 'completed', batch: { status: 'completed', counts: { total, done: total, failed: 0, pending: 0 } } });
    t.regex(
      distributed.output(),
      new RegExp(`transform#1 \\(pid ${victim}\\) ended with SIGKILL; starting it again`),
      'the launcher saw the crash and started the copy again',
    );
  },
);

test.serial('Ctrl-C, even twice, stops every process of the layout cleanly', async (t) => {
  const distributed = await layout();
  const pids = distributed.allPids();
  t.true(pids.length >= 16, `the layout runs every service, processors in two copies (${pids.length} processes)`);
  running = undefined;
  t.is(await distributed.stop(), 0, `every process stopped cleanly; the launcher's output:\n${distributed.output().slice(-4000)}`);
  await waitUntil(() => pids.every((pid) => !isAlive(pid)), { timeoutMs: 10_000, description: 'every process of the layout to be gone' });
  t.pass();
});
