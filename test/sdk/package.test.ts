import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { TEST_API_KEY } from '../support/api.ts';
import { fixturePath } from '../support/fixtures.ts';
import { startOnServers, type ProgImageOnServers } from '../support/on-servers.ts';
import { runCommand, type CommandResult } from '../support/run-command.ts';

/**
 * sdk/ is an npm workspace of the checkout, built by `npm ci`, so `npx progimage` runs there; and `npm pack`
 * in sdk/ makes a tarball of what a user needs, which installs into an empty project, where the library, its
 * types and its command work.
 */

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SDK = join(REPO_ROOT, 'sdk');
const NPM = 'npm';

let running: ProgImageOnServers | undefined;
let packing: Promise<string> | undefined;
const packFolder = mkdtemp(join(tmpdir(), 'progimage-pack-'));
test.after.always(async () => {
  await running?.stop();
  await rm(await packFolder, { recursive: true, force: true });
});

const succeeded = (result: CommandResult) => `exit ${result.code ?? '?'}\n${result.stdout.toString('utf8')}\n${result.stderr}`;
const env = { ...process.env, npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' };

/** `npm pack` in sdk/ (which builds it), once for every test: the tarball's path. */
const tarball = () =>
  (packing ??= (async () => {
    const folder = await packFolder;
    const packed = await runCommand(NPM, ['pack', '--pack-destination', folder], { cwd: SDK, env });
    if (packed.code !== 0) throw new Error(`npm pack failed: ${succeeded(packed)}`);
    const [name] = (await readdir(folder)).filter((file) => file.endsWith('.tgz'));
    if (name === undefined) throw new Error('npm pack made no tarball');
    return join(folder, name);
  })());

/** `npx progimage --help`, from what is installed where it runs and never from the registry. */
const npxHelp = (cwd: string) => runCommand('npx', ['--offline', '--no-install', 'progimage', '--help'], { cwd, env });
const HELP_FIRST_LINE = /^progimage: store, transform and serve images with ProgImage\n/;

/** Every file under a folder, relative to it, sorted. */
async function filesUnder(folder: string): Promise<string[]> {
  const entries = await readdir(folder, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => relative(folder, join(entry.parentPath, entry.name)))
    .sort();
}

const CONSUMER = `
import { ProgImage, NotFoundError } from '@progimage/client';
import { readFile } from 'node:fs/promises';

const pi = new ProgImage({ baseUrl: process.env.PROGIMAGE_URL, apiKey: process.env.PROGIMAGE_API_KEY });
const { id } = await pi.images.upload(process.argv[2]);
const image = await pi.images.waitUntilReady(id);
let missing = '';
try {
  await pi.images.get('00000000-0000-4000-8000-000000000000');
} catch (error) {
  missing = error instanceof NotFoundError ? error.code : String(error);
}
const url = pi.images.url(id, { format: 'webp', w: 50 });
process.stdout.write(JSON.stringify({ id, status: image.status, missing, url }));
`;

test.serial('in the checkout, after npm ci, npx progimage runs the command of the sdk workspace', async (t) => {
  const help = await npxHelp(REPO_ROOT);
  t.is(help.code, 0, succeeded(help));
  t.regex(help.stdout.toString('utf8'), HELP_FIRST_LINE);
});

test.serial(
  'the packed tarball holds the built library, its declarations, the executable command, README, LICENSE and package.json, and nothing else',
  async (t) => {
    const unpacked = await mkdtemp(join(tmpdir(), 'progimage-unpacked-'));
    t.teardown(() => rm(unpacked, { recursive: true, force: true }));
    // Unpacked by tar, not npm, whose installer makes a command executable whatever the tarball says.
    const untarred = await runCommand('tar', ['-xzf', await tarball(), '-C', unpacked], { cwd: unpacked, env });
    t.is(untarred.code, 0, succeeded(untarred));
    const files = await filesUnder(join(unpacked, 'package'));

    t.deepEqual(
      files.filter((file) => !file.startsWith('dist/')),
      ['LICENSE', 'README.md', 'package.json'],
    );
    t.deepEqual(
      files.filter((file) => file.startsWith('dist/') && !/\.(js|d\.ts)$/.test(file)),
      [],
      'only code and declarations in dist',
    );
    t.deepEqual(
      files.filter((file) => file.startsWith('dist/cli/') && file.endsWith('.d.ts')),
      [],
      "the command's modules are no API: no declarations",
    );
    for (const file of ['dist/index.js', 'dist/index.d.ts', 'dist/cli/main.js', 'dist/cli/commands/sign.js'])
      t.true(files.includes(file), file);

    const command = join(unpacked, 'package/dist/cli/main.js');
    t.is((await stat(command)).mode & 0o111, 0o111, 'the command is executable in the tarball');
    t.true((await readFile(command, 'utf8')).startsWith('#!/usr/bin/env node\n'));
    t.regex(await readFile(join(unpacked, 'package/LICENSE'), 'utf8'), /^MIT License\n\nCopyright \(c\) 2026 ProgImage\n/);
  },
);

test.serial(
  'the packed tarball installs into an empty project; there the library, its type declarations and the progimage command work',
  async (t) => {
    const project = await mkdtemp(join(tmpdir(), 'progimage-consumer-'));
    t.teardown(() => rm(project, { recursive: true, force: true }));

    await writeFile(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
    const installed = await runCommand(NPM, ['install', '--offline', await tarball()], { cwd: project, env });
    t.is(installed.code, 0, succeeded(installed));

    // The declarations type-check a consumer's code, with the compiler and Node's types of this repository.
    await writeFile(
      join(project, 'consumer.ts'),
      "import { ProgImage, type Image } from '@progimage/client';\nconst pi = new ProgImage({ baseUrl: 'http://x' });\nexport const url: string = pi.images.url('id', { format: 'png', w: 10, fit: 'cover' });\nexport type Shown = Image['status'];\n",
    );
    await writeFile(
      join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          noEmit: true,
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          target: 'ES2023',
          types: ['node'],
          typeRoots: [join(REPO_ROOT, 'node_modules/@types')],
        },
        files: ['consumer.ts'],
      }),
    );
    const typed = await runCommand(process.execPath, [join(REPO_ROOT, 'node_modules/typescript/bin/tsc'), '-p', project], {
      cwd: project,
      env,
    });
    t.is(typed.code, 0, succeeded(typed));

    running = await startOnServers('sdk-package');
    const service = { ...env, PROGIMAGE_URL: running.progimage.baseUrl, PROGIMAGE_API_KEY: TEST_API_KEY };
    await writeFile(join(project, 'consumer.mjs'), CONSUMER);
    const used = await runCommand(process.execPath, ['consumer.mjs', fixturePath('320x240.jpg')], { cwd: project, env: service });
    t.is(used.code, 0, succeeded(used));
    const outcome = JSON.parse(used.stdout.toString('utf8')) as { id: string; url: string };
    t.like(outcome, { status: 'ready', missing: 'not_found', url: `${running.progimage.baseUrl}/v1/images/${outcome.id}.webp?width=50` });

    const help = await npxHelp(project);
    t.is(help.code, 0, succeeded(help));
    t.regex(help.stdout.toString('utf8'), HELP_FIRST_LINE);
    const command = await runCommand(join(project, 'node_modules/.bin/progimage'), ['upload', fixturePath('with-alpha.png'), '--json'], {
      cwd: project,
      env: service,
    });
    t.is(command.code, 0, succeeded(command));
    t.regex(command.stdout.toString('utf8'), /"id": "[0-9a-f-]{36}"/);
  },
);
