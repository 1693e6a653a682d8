import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { installDir, installOnce } from './servers/install-cache.ts';
import { runDir } from './settings.ts';
import { installDebianPackages, requireTool, run } from './tools.ts';

/**
 * The Go programs the project builds, each from a module of its own in
 * infra/<name> (go.mod, go.sum, its .go files):
 * - compose-check and prometheus-check check infra files where Docker is not
 *   available: a compose file loaded with compose-go, the loader of Docker
 *   Compose; Prometheus files with Prometheus's own code;
 * - imaginary is an image server bench:transform measures beside ProgImage,
 *   its version pinned by the module's go.mod.
 */
export type GoTool = 'compose-check' | 'prometheus-check' | 'imaginary';

/** The libvips imaginary is built against (through cgo and pkg-config) and runs on. */
async function installLibvips(logFile: string): Promise<void> {
  if (spawnSync('pkg-config', ['--exists', 'vips']).status === 0) return;
  await installDebianPackages(
    ['libvips-dev', 'pkg-config'],
    'libvips',
    'imaginary needs it (Debian: apt-get install libvips-dev)',
    logFile,
  );
}

const TOOLS: Readonly<Record<GoTool, { readonly goPackage: string; readonly needs?: (logFile: string) => Promise<void> }>> = {
  'compose-check': { goPackage: '.' },
  'prometheus-check': { goPackage: '.' },
  imaginary: { goPackage: 'github.com/h2non/imaginary', needs: installLibvips },
};

const infraDir = fileURLToPath(new URL('..', import.meta.url));

/** A digest of the tool's source and pinned dependencies: a change to either builds it anew. */
function sourceDigest(sourceDir: string): string {
  const hash = createHash('sha256');
  for (const name of readdirSync(sourceDir)
    .filter((file) => /\.go$|^go\.(mod|sum)$/.test(file))
    .sort()) {
    hash
      .update(name)
      .update('\0')
      .update(readFileSync(join(sourceDir, name)))
      .update('\0');
  }
  return hash.digest('hex').slice(0, 16);
}

async function build(name: GoTool): Promise<string> {
  const sourceDir = join(infraDir, name);
  const home = installDir(name, sourceDigest(sourceDir));
  const go = requireTool('go', `${name} is built from source with Go 1.26 or newer (https://go.dev/doc/install)`);
  mkdirSync(runDir, { recursive: true });
  const logFile = join(runDir, `${name}-install.log`);
  const { goPackage, needs } = TOOLS[name];
  await installOnce(home, join('bin', name), async (scratch) => {
    await needs?.(logFile);
    await run(go, ['build', '-buildvcs=false', '-o', join(scratch, 'bin', name), goPackage], { cwd: sourceDir, logFile });
  });
  return join(home, 'bin', name);
}

const builds = new Map<GoTool, Promise<string>>();

/** The tool's path, built once per version of its source (cached with the local stack's servers) and once per process. */
export function goTool(name: GoTool): Promise<string> {
  let built = builds.get(name);
  if (built === undefined) {
    built = build(name);
    builds.set(name, built);
  }
  return built;
}
