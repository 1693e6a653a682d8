import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { TEST_API_KEY } from '../support/api.ts';
import { fixturePath } from '../support/fixtures.ts';
import { startOnServers, type ProgImageOnServers } from '../support/on-servers.ts';
import { runCommand, type CommandResult } from '../support/run-command.ts';

/** `npm pack` in sdk/ makes a tarball that installs into an empty project, where the library, its types and its command work. */

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SDK = join(REPO_ROOT, 'sdk');
const NPM = 'npm';

let running: ProgImageOnServers | undefined;
test.after.always(async () => {
  await running?.stop();
});

const succeeded = (result: CommandResult) => `exit ${result.code ?? '?'}\n${result.stdout.toString('utf8')}\n${result.stderr}`;

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

test('the packed tarball installs into an empty project; there the library, its type declarations and the progimage command work', async (t) => {
  const project = await mkdtemp(join(tmpdir(), 'progimage-consumer-'));
  t.teardown(() => rm(project, { recursive: true, force: true }));
  const env = { ...process.env, npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' };

  const packed = await runCommand(NPM, ['pack', '--pack-destination', project], { cwd: SDK, env });
  t.is(packed.code, 0, succeeded(packed));
  const [tarball] = (await readdir(project)).filter((name) => name.endsWith('.tgz'));
  if (tarball === undefined) throw new Error('npm pack made no tarball');

  await writeFile(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  const installed = await runCommand(NPM, ['install', '--offline', join(project, tarball)], { cwd: project, env });
  t.is(installed.code, 0, succeeded(installed));

  // The declarations type-check a consumer's code, with the compiler and Node's types of this repository.
  await writeFile(join(project, 'consumer.ts'), "import { ProgImage, type Image } from '@progimage/client';\nconst pi = new ProgImage({ baseUrl: 'http://x' });\nexport const url: string = pi.images.url('id', { format: 'png', w: 10, fit: 'cover' });\nexport type Shown = Image['status'];\n");
  await writeFile(
    join(project, 'tsconfig.json'),
    JSON.stringify({ compilerOptions: { strict: true, noEmit: true, module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2023', types: ['node'], typeRoots: [join(REPO_ROOT, 'node_modules/@types')] }, files: ['consumer.ts'] }),
  );
  const typed = await runCommand(process.execPath, [join(REPO_ROOT, 'node_modules/typescript/bin/tsc'), '-p', project], { cwd: project, env });
  t.is(typed.code, 0, succeeded(typed));

  running = await startOnServers('sdk-package');
  const service = { ...env, PROGIMAGE_URL: running.progimage.baseUrl, PROGIMAGE_API_KEY: TEST_API_KEY };
  await writeFile(join(project, 'consumer.mjs'), CONSUMER);
  const used = await runCommand(process.execPath, ['consumer.mjs', fixturePath('320x240.jpg')], { cwd: project, env: service });
  t.is(used.code, 0, succeeded(used));
  const outcome = JSON.parse(used.stdout.toString('utf8')) as { id: string; url: string };
  t.like(outcome, { status: 'ready', missing: 'not_found', url: `${running.progimage.baseUrl}/v1/images/${outcome.id}.webp?width=50` });

  const command = await runCommand(join(project, 'node_modules/.bin/progimage'), ['upload', fixturePath('with-alpha.png'), '--json'], { cwd: project, env: service });
  t.is(command.code, 0, succeeded(command));
  t.regex(command.stdout.toString('utf8'), /"id": "[0-9a-f-]{36}"/);
});
