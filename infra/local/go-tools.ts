import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { installDir, installOnce } from './servers/install-cache.ts';
import { runDir } from './settings.ts';
import { requireTool, run } from './tools.ts';

/**
 * The Go programs of this repository that check infra files where Docker is
 * not available, each a module of its own in infra/<name> (main.go, go.mod, go.sum):
 * compose-check loads a compose file with compose-go, the loader of Docker
 * Compose; prometheus-check loads Prometheus files with Prometheus's own code.
 */
export type GoTool = 'compose-check' | 'prometheus-check';

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
  await installOnce(home, join('bin', name), async (scratch) => {
    await run(go, ['build', '-buildvcs=false', '-o', join(scratch, 'bin', name), '.'], {
      cwd: sourceDir,
      logFile: join(runDir, `${name}-install.log`),
    });
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
