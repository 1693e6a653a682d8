import { copyFile, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import sharp from 'sharp';
import { z } from 'zod';
import { ProgImage } from '../../sdk/src/index.ts';
import { TEST_API_KEY } from '../support/api.ts';
import { fixturePath } from '../support/fixtures.ts';
import { startOnServers, type ProgImageOnServers } from '../support/on-servers.ts';
import { runCommand } from '../support/run-command.ts';

/** The progimage command, spawned as a user runs it, against every service on the real servers. */

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = join(REPO_ROOT, 'sdk/src/cli/main.ts');

let running: ProgImageOnServers | undefined;
const servers = async () => (running ??= await startOnServers('cli'));
test.after.always(async () => {
  await running?.stop();
});

async function progimage(args: readonly string[], env: NodeJS.ProcessEnv = {}) {
  const { progimage: service } = await servers();
  const result = await runCommand(process.execPath, ['--import', 'tsx', CLI, ...args], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, PROGIMAGE_URL: service.baseUrl, PROGIMAGE_API_KEY: TEST_API_KEY, ...env },
  });
  return { ...result, text: result.stdout.toString('utf8') };
}

const uploadResults = z.array(
  z.object({
    input: z.string(),
    id: z.string().optional(),
    error: z.object({ status: z.number().optional(), code: z.string().optional(), message: z.string() }).optional(),
  }),
);

test.serial(
  'upload of a folder and a file: --json lists each input with its id or its error; a partial failure exits 4; no progress off a terminal',
  async (t) => {
    const folder = await mkdtemp(join(tmpdir(), 'progimage-cli-'));
    t.teardown(() => rm(folder, { recursive: true, force: true }));
    await mkdir(join(folder, 'nested'));
    await copyFile(fixturePath('320x240.jpg'), join(folder, 'a.jpg'));
    await copyFile(fixturePath('with-alpha.png'), join(folder, 'nested', 'b.png'));
    await copyFile(fixturePath('README.md'), join(folder, 'notes.md'));
    await copyFile(fixturePath('320x240.jpg'), join(folder, '.hidden.jpg'));

    const result = await progimage(['upload', folder, fixturePath('Landscape_6.jpg'), '--json', '--concurrency', '2']);
    t.is(result.code, 4, result.stderr);
    t.is(result.stderr, '', 'no progress bar when stderr is not a terminal');
    const outcomes = uploadResults.parse(JSON.parse(result.text));
    t.deepEqual(
      outcomes.map((outcome) => outcome.input),
      [join(folder, 'a.jpg'), join(folder, 'nested', 'b.png'), join(folder, 'notes.md'), fixturePath('Landscape_6.jpg')],
    );
    t.deepEqual(
      outcomes.map((outcome) => outcome.error?.code ?? 'ok'),
      ['ok', 'ok', 'unsupported_media_type', 'ok'],
    );

    const good = await progimage(['upload', fixturePath('Landscape_7.jpg'), '--wait', '--ttl', '86400']);
    t.is(good.code, 0, good.stderr);
    const [id, input] = good.text.trim().split('\t');
    t.is(input, fixturePath('Landscape_7.jpg'));

    const image = await progimage(['get', id ?? '', '--json']);
    t.is(image.code, 0, image.stderr);
    const shown = z
      .object({ id: z.string(), status: z.string(), format: z.string(), expiresAt: z.iso.datetime() })
      .parse(JSON.parse(image.text));
    t.like(shown, { id, status: 'ready', format: 'jpeg' });
    t.true(Date.parse(shown.expiresAt) > Date.now() + 86_000_000, '--ttl gives the upload its time to live');
    t.is(
      (await progimage(['upload', fixturePath('Landscape_7.jpg'), '--ttl', 'soon'])).code,
      2,
      'a ttl that is not a number of seconds is a usage error',
    );
    t.regex((await progimage(['get', id ?? ''])).text, new RegExp(`^${id ?? ''}\\tready\\tjpeg\\t\\d+x\\d+\\n$`));
  },
);

test.serial('url prints the canonical URL of the image in a format, as the library builds it', async (t) => {
  const { progimage: service } = await servers();
  const id = '1b09c5c8-2d0e-4bd2-9a5b-3c1f0f6c2a11';
  const result = await progimage(['url', id, 'webp', 'h=100', 'w=200', 'fit=cover', 'flip']);
  t.is(result.code, 0, result.stderr);
  t.is(
    result.text,
    `${new ProgImage({ baseUrl: service.baseUrl }).images.url(id, { format: 'webp', width: 200, height: 100, fit: 'cover', flip: true })}\n`,
  );
  const unknown = await progimage(['url', id, 'webp', 'spin=3']);
  t.is(unknown.code, 2);
  t.regex(unknown.stderr, /"spin" is not a transform option/);
});

test.serial(
  'sign prints the absolute URL of the transformed image that answers without a key until it expires; --json adds the expiry',
  async (t) => {
    const { progimage: service } = await servers();
    const uploaded = await progimage(['upload', fixturePath('Landscape_5.jpg'), '--wait', '--json']);
    t.is(uploaded.code, 0, uploaded.stderr);
    const [{ id = '' } = {}] = uploadResults.parse(JSON.parse(uploaded.text));

    const signed = await progimage(['sign', id, 'webp', 'w=40']);
    t.is(signed.code, 0, signed.stderr);
    const url = signed.text.trim();
    t.true(url.startsWith(`${service.baseUrl}/v1/images/${id}.webp?width=40&`), url);
    const anonymous = await fetch(url);
    t.is(anonymous.status, 200);
    t.like(await sharp(Buffer.from(await anonymous.arrayBuffer())).metadata(), { format: 'webp', width: 40 });
    t.is((await fetch(url.replace('width=40', 'width=41'))).status, 403, 'the options are signed');

    const scripted = await progimage(['sign', id, 'png', 'h=30', '--expires-in', '120', '--json']);
    t.is(scripted.code, 0, scripted.stderr);
    const { url: pngUrl, expiresAt } = z.object({ url: z.url(), expiresAt: z.iso.datetime() }).parse(JSON.parse(scripted.text));
    t.true(pngUrl.startsWith(`${service.baseUrl}/v1/images/${id}.png?height=30&`), pngUrl);
    const lifetime = Date.parse(expiresAt) - Date.now();
    t.true(lifetime > 100_000 && lifetime <= 120_000, `--expires-in 120 gives it two minutes, not ${lifetime} ms`);

    t.is(
      (await progimage(['sign', id, 'png', '--expires-in', 'soon'])).code,
      2,
      'an expiry that is not a number of seconds is a usage error',
    );
    t.is((await progimage(['sign', id])).code, 2, 'the format is required');
    t.is((await progimage(['sign', id, 'png', '--expires-in', String(400 * 24 * 3600)])).code, 3, 'the server refuses more than a year');
  },
);

test.serial('transform writes the transformed image to --out, or to stdout in a pipe', async (t) => {
  const folder = await mkdtemp(join(tmpdir(), 'progimage-cli-'));
  t.teardown(() => rm(folder, { recursive: true, force: true }));
  const out = join(folder, 'small.png');
  const result = await progimage(['transform', fixturePath('Landscape_8.jpg'), 'w=48', 'format=png', '--out', out, '--json']);
  t.is(result.code, 0, result.stderr);
  t.like(JSON.parse(result.text), { out, contentType: 'image/png' });
  t.like(await sharp(await readFile(out)).metadata(), { format: 'png', width: 48 });

  const piped = await progimage(['transform', fixturePath('Landscape_8.jpg'), 'w=24', 'format=webp']);
  t.is(piped.code, 0, piped.stderr);
  t.like(await sharp(piped.stdout).metadata(), { format: 'webp', width: 24 });
});

test.serial('batch --wait follows the batch to its end and prints it; a failed item exits 4', async (t) => {
  const uploaded = await progimage(['upload', fixturePath('Portrait_1.jpg'), '--wait', '--json']);
  const [{ id = '' } = {}] = uploadResults.parse(JSON.parse(uploaded.text));
  const result = await progimage(['batch', id, '-t', 'w=30&format=webp', '-t', 'w=10&h=10&format=png', '--wait', '--json']);
  t.is(result.code, 0, result.stderr);
  t.like(JSON.parse(result.text), { status: 'completed', counts: { total: 1, done: 1, failed: 0 } });

  const failing = await progimage(['batch', id, '00000000-0000-4000-8000-000000000000', '-t', 'w=30', '--wait', '--json']);
  t.is(failing.code, 4, failing.stderr);
  t.like(JSON.parse(failing.text), { status: 'completed', counts: { total: 2, done: 1, failed: 1 } });
});

test.serial('exit codes: 2 for usage and configuration, 3 when the server refuses, 5 when it cannot be reached', async (t) => {
  const none = await progimage([]);
  t.is(none.code, 2);
  t.regex(none.text, /Usage: progimage <command>/);
  t.is((await progimage(['resize', 'x'])).code, 2);
  t.is((await progimage(['get', 'x', '--colour'])).code, 2);
  const noServer = await progimage(['get', 'x'], { PROGIMAGE_URL: '' });
  t.is(noServer.code, 2);
  t.regex(noServer.stderr, /PROGIMAGE_URL/);

  const refused = await progimage(['get', '00000000-0000-4000-8000-000000000000', '--api-key', 'pik_not-a-key']);
  t.is(refused.code, 3);
  const missing = await progimage(['get', '00000000-0000-4000-8000-000000000000', '--json']);
  t.is(missing.code, 3);
  t.like(JSON.parse(missing.text), { error: { status: 404, code: 'not_found' } });
  t.regex(missing.stderr, /no such image/);

  const unreachable = await progimage(['get', 'x', '--url', 'http://127.0.0.1:1', '--timeout', '5000']);
  t.is(unreachable.code, 5);
});
