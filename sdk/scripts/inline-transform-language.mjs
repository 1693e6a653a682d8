// The client ships the transform language inside its own dist/: the build
// compiles @progimage/transform-language's entry (Node only, no zod) into
// dist/transform-language/, and this points the client's compiled imports of
// the package (.js and .d.ts) at that copy. So the tarball needs nothing but
// itself, and the language is a private workspace package, never published.
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';

const PACKAGE = '@progimage/transform-language';
const DIST = join(import.meta.dirname, '..', 'dist');
const COPY = join(DIST, 'transform-language');
const SPECIFIER = /(['"])@progimage\/transform-language(\/[^'"]*)?\1/g;

const entries = await readdir(DIST, { recursive: true, withFileTypes: true });
const files = entries
  .filter((entry) => entry.isFile() && /\.(js|d\.ts)$/.test(entry.name))
  .map((entry) => join(entry.parentPath, entry.name))
  .filter((file) => !file.startsWith(COPY + sep));

let rewritten = 0;
for (const file of files) {
  const text = await readFile(file, 'utf8');
  const path = relative(dirname(file), join(COPY, 'index.js')).split(sep).join('/');
  const inlined = text.replace(SPECIFIER, (_match, quote, subpath) => {
    if (subpath !== undefined) throw new Error(`${file} imports ${PACKAGE}${subpath}: the client ships only the package's main entry`);
    return `${quote}${path.startsWith('.') ? path : `./${path}`}${quote}`;
  });
  if (inlined !== text) {
    await writeFile(file, inlined);
    rewritten += 1;
  }
}
if (rewritten === 0) throw new Error(`no module of dist/ imports ${PACKAGE}: is the build still what this script expects?`);
