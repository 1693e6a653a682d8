import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { installDir, installOnce } from './servers/install-cache.ts';
import { runDir } from './settings.ts';
import { requireTool, run } from './tools.ts';

/** What a fresh Debian lacks for `python3 -m venv`: the venv module and its pip (ensurepip). */
const VENV_HINT = 'install Python 3 with its venv module (Debian: apt-get install python3-venv)';

async function install(name: string, requirementsFile: string): Promise<string> {
  const requirements = readFileSync(requirementsFile);
  const home = installDir(name, createHash('sha256').update(requirements).digest('hex').slice(0, 16));
  const python = requireTool('python3', VENV_HINT);
  mkdirSync(runDir, { recursive: true });
  const logFile = join(runDir, `${name}-install.log`);
  await installOnce(home, 'installed', async (scratch) => {
    try {
      await run(python, ['-m', 'venv', scratch], { logFile });
    } catch (error) {
      throw new Error(`python3 -m venv failed: ${VENV_HINT}`, { cause: error });
    }
    // Wheels only: a package built from source would need compilers and headers (librdkafka's) a test machine may lack.
    await run(
      join(scratch, 'bin', 'python'),
      ['-m', 'pip', 'install', '--disable-pip-version-check', '--no-input', '--only-binary=:all:', '-r', requirementsFile],
      {
        cwd: dirname(requirementsFile),
        logFile,
      },
    );
    await run(join(scratch, 'bin', 'python'), ['-m', 'pip', 'freeze', '--disable-pip-version-check'], {
      logFile: join(scratch, 'installed'),
    });
  });
  return join(home, 'bin', 'python');
}

const installs = new Map<string, Promise<string>>();

/**
 * The python of a virtualenv with the packages of `requirementsFile` (pinned
 * versions), made once per content of the file and cached with the local
 * stack's servers, and once per process; `name` names it there (and its install log).
 */
export function pythonWithRequirements(name: string, requirementsFile: string): Promise<string> {
  const key = `${name}:${requirementsFile}`;
  let installed = installs.get(key);
  if (installed === undefined) {
    installed = install(name, requirementsFile);
    installs.set(key, installed);
  }
  return installed;
}
