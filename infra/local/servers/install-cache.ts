import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { serversDir } from '../settings.ts';

/** The cache folder of one server version, e.g. ~/.cache/progimage-stack/servers/kafka/3.9.1. */
export const installDir = (name: string, version: string): string => join(serversDir, name, version);

/**
 * Installs into a scratch folder and moves it into place only when complete,
 * so an interrupted install is never mistaken for a finished one.
 * `marker` is a path relative to the install folder that exists once installed.
 */
export async function installOnce(dir: string, marker: string, build: (scratchDir: string) => Promise<void>): Promise<void> {
  if (existsSync(join(dir, marker))) return;
  const scratch = `${dir}.partial-${process.pid}`;
  rmSync(scratch, { recursive: true, force: true });
  mkdirSync(scratch, { recursive: true });
  try {
    await build(scratch);
    if (!existsSync(join(scratch, marker))) throw new Error(`install left no ${marker} in ${scratch}`);
    mkdirSync(dirname(dir), { recursive: true });
    rmSync(dir, { recursive: true, force: true });
    renameSync(scratch, dir);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
