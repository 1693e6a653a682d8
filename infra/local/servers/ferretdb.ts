import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MongoClient } from 'mongodb';
import { z } from 'zod';
import type { LocalServer } from '../server.ts';
import { HOST, localStackEnvironment, PORTS, runDir } from '../settings.ts';
import { requireTool, run } from '../tools.ts';
import { installDir, installOnce } from './install-cache.ts';

const VERSION = 'v1.24.2';
const MODULE = 'github.com/FerretDB/FerretDB';
/** The build's own name in the install cache: a binary built before the fixes below is not reused. */
const BUILD = `${VERSION}+id-index-2`;
const home = installDir('ferretdb', BUILD);
const binary = join(home, 'bin', 'ferretdb');
const workDir = join(runDir, 'ferretdb');
const logFile = join(runDir, 'ferretdb.log');
const installLog = join(runDir, 'ferretdb-install.log');

const GO_HINT = 'FerretDB is built from source with Go 1.24 or newer (https://go.dev/doc/install)';

const downloadInfo = z.object({ Dir: z.string() });

/** A change to FerretDB's source: every occurrence of `from` (there must be `occurrences`) becomes `to`. */
interface SourceFix {
  readonly file: string;
  readonly from: string;
  readonly to: string;
  readonly occurrences: number;
}

/**
 * Two fixes that make the stand-in read as MongoDB does: one index entry per
 * lookup by _id (docs/BENCHMARKS.md, "The MongoDB stand-in scanned every
 * collection"). FerretDB 2 has no SQLite backend, so there is no release to
 * take them from.
 *
 * FerretDB 1.24's SQLite backend looks documents up by _id with the SQL
 * expression `_ferretdb_sjson->'$._id'`, but creates the _id index on
 * `_ferretdb_sjson->"_id"`. SQLite uses an expression index only for the
 * same expression, so every lookup and every update by _id scanned the whole
 * table and parsed each document's JSON. The first fix names the indexed
 * expression in the lookups.
 *
 * The backend narrows a query to one _id only when the filter is `_id`
 * alone; `{ _id, _version }`, the catalog's compare-and-set, read every
 * document. FerretDB's handler applies the whole filter to whatever the
 * backend returns, so the second fix narrows by _id whenever the filter
 * holds an _id value, whatever else it holds.
 */
const SOURCE_FIXES: readonly SourceFix[] = [
  {
    file: join('internal', 'backends', 'sqlite', 'metadata', 'metadata.go'),
    from: `IDColumn = DefaultColumn + "->'$._id'"`,
    to: 'IDColumn = DefaultColumn + `->"_id"`',
    occurrences: 1,
  },
  {
    file: join('internal', 'backends', 'sqlite', 'collection.go'),
    from: 'if params.Filter.Len() == 1 {\n\t\tv, _ := params.Filter.Get("_id")',
    to: 'if params.Filter.Len() >= 1 {\n\t\tv, _ := params.Filter.Get("_id")',
    occurrences: 2,
  },
];

function applySourceFixes(source: string): void {
  for (const fix of SOURCE_FIXES) {
    const file = join(source, fix.file);
    const text = readFileSync(file, 'utf8');
    const found = text.split(fix.from).length - 1;
    if (found !== fix.occurrences)
      throw new Error(
        `${fix.file}: expected ${fix.occurrences} of ${JSON.stringify(fix.from)} to fix, found ${found} (another FerretDB version?)`,
      );
    writeFileSync(file, text.replaceAll(fix.from, fix.to));
  }
}

/** Writes `go mod download -json` output to a file and reads the module's source folder from it. */
async function downloadModuleSource(go: string, scratch: string): Promise<string> {
  const infoFile = join(scratch, 'download.json');
  await run('/bin/sh', ['-c', `"${go}" mod download -json ${MODULE}@${VERSION} > "${infoFile}"`], {
    logFile: installLog,
  });
  return downloadInfo.parse(JSON.parse(await readFile(infoFile, 'utf8'))).Dir;
}

export const ferretdbServer: LocalServer = {
  name: 'ferretdb',
  version: VERSION,
  logFile,
  address: `mongodb://${HOST}:${PORTS.ferretdb}`,
  ports: [PORTS.ferretdb, PORTS.ferretdbDebug],
  startTimeoutMs: 30_000,

  async install() {
    const go = requireTool('go', GO_HINT);
    // `go install …/cmd/ferretdb@v1.24.2` builds a binary that panics at start:
    // FerretDB reads its version from build/version/version.txt, which its release
    // tooling generates and the module zip lacks. So build the released module
    // source with that file written, as FerretDB's own build does.
    await installOnce(home, join('bin', 'ferretdb'), async (scratch) => {
      const source = join(scratch, 'src');
      cpSync(await downloadModuleSource(go, scratch), source, { recursive: true });
      // The module cache is read-only; the copy must be writable to add the file and to be removed.
      await run('chmod', ['-R', 'u+w', source], { logFile: installLog });
      writeFileSync(join(source, 'build', 'version', 'version.txt'), `${VERSION}\n`);
      applySourceFixes(source);
      await run(go, ['build', '-o', join(scratch, 'bin', 'ferretdb'), './cmd/ferretdb'], {
        cwd: source,
        logFile: installLog,
      });
      rmSync(source, { recursive: true });
    });
  },

  prepare() {
    mkdirSync(join(workDir, 'data'), { recursive: true });
    mkdirSync(join(workDir, 'state'), { recursive: true });
    return Promise.resolve();
  },

  process() {
    return {
      command: binary,
      args: [
        '--handler=sqlite',
        `--sqlite-url=file:${join(workDir, 'data')}/`,
        `--listen-addr=${HOST}:${PORTS.ferretdb}`,
        `--debug-addr=${HOST}:${PORTS.ferretdbDebug}`,
        `--state-dir=${join(workDir, 'state')}`,
        '--telemetry=disable',
        '--log-level=warn',
      ],
    };
  },

  async checkHealth() {
    const url = localStackEnvironment().PROGIMAGE_MONGODB_URL ?? '';
    const client = new MongoClient(url, { serverSelectionTimeoutMS: 1500, connectTimeoutMS: 1500 });
    try {
      await client.db('admin').command({ ping: 1 });
    } finally {
      await client.close();
    }
  },
};
