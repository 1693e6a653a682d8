import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { pythonWithRequirements } from '../infra/local/python-tools.ts';
import { serverInstances, startServerProcess, type OtherServer, type TransformWork } from './server-process.ts';

/**
 * One instance per CPU of this machine, as the figures ran it: each
 * on a port of its own, the bench's connections split between them, as a
 * balancer in front of them would. Its own pre-fork (`--processes 2` on one
 * port) let one process accept most connections of a burst: one CPU busy.
 */
const INSTANCES = 2;

/** Its file loader serves the fixture's folder; nothing is stored, so every request loads and transforms the original. */
const configuration = (root: string): string => `LOADER = 'thumbor.loaders.file_loader'
FILE_LOADER_ROOT_PATH = ${JSON.stringify(root)}
STORAGE = 'thumbor.storages.no_storage'
RESULT_STORAGE = None
ALLOW_UNSAFE_URL = True
PROGRESSIVE_JPEG = False
`;

/**
 * thumbor (https://thumbor.readthedocs.io), the Python image server on
 * Pillow, reading the fixture as a stored original; its default crop is fit
 * cover, centred. Baseline JPEG, as the limit's; otherwise its defaults. Its
 * version is bench/thumbor-requirements.txt's, installed from PyPI by
 * infra/local/python-tools.ts on first use.
 */
export async function startThumbor({ fixturePath, quality }: TransformWork): Promise<OtherServer> {
  const python = await pythonWithRequirements('thumbor', join(import.meta.dirname, 'thumbor-requirements.txt'));
  const folder = await mkdtemp(join(tmpdir(), 'bench-thumbor-'));
  const configFile = join(folder, 'thumbor.conf');
  try {
    await writeFile(configFile, configuration(dirname(fixturePath)));
    const server = await serverInstances(INSTANCES, () =>
      startServerProcess({
        name: 'thumbor',
        // Not its console script: the virtualenv was made in a scratch folder, and the script's shebang names that.
        command: python,
        args: (port) => ['-m', 'thumbor.server', '--ip', '127.0.0.1', '--port', String(port), '--conf', configFile],
        healthPath: '/healthcheck',
      }),
    );
    return {
      ...server,
      label: 'thumbor 7.8.0, GET /unsafe/WxH/… (stored original)',
      about: `thumbor: ${INSTANCES} instances, one process each on a port of its own, the connections split between them (their CPU and peak RSS summed); Pillow, file loader, no storage or result storage`,
      request: ([width, height]) => ({
        path: `/unsafe/${width}x${height}/filters:quality(${quality})/${encodeURIComponent(basename(fixturePath))}`,
      }),
      stop: async () => {
        await server.stop();
        await rm(folder, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await rm(folder, { recursive: true, force: true });
    throw error;
  }
}
