/**
 * `npx tsx bench/profile-summary.ts FILE.cpuprofile [--top N] [--match TEXT] [--stacks A,B,...] [--exclusive]`:
 * where a V8 CPU profile (node --cpu-prof, or the benchmarks' --profile) spent
 * its time: by area (a package, a folder of this repository, Node's internals,
 * GC), then the functions with the most self time and the functions of this
 * repository with the most inclusive time; with --stacks, the share of the
 * samples whose stack has a frame containing each text ("A|B": either; e.g.
 * node:internal/fs for file I/O, folder-blob-store for the blob store's own
 * synchronous work); with --exclusive as well, each sample counts only for the
 * first text that matches, so that the shares add up. Idle time is left out. An async function's stack ends at
 * its first await: what runs after an await is under the microtask runner.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { fixed, formatTable } from './stats.ts';

const callFrameSchema = z.object({ functionName: z.string(), url: z.string(), lineNumber: z.number() }).loose();
const profileSchema = z.object({
  nodes: z.array(z.object({ id: z.number(), callFrame: callFrameSchema, children: z.array(z.number()).optional() }).loose()),
  samples: z.array(z.number()),
  timeDeltas: z.array(z.number()),
});
type ProfileNode = z.infer<typeof profileSchema>['nodes'][number];

const REPOSITORY = fileURLToPath(new URL('..', import.meta.url));

function area(node: ProfileNode): string {
  const { url, functionName } = node.callFrame;
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)';
  const path = url.startsWith('file://') ? fileURLToPath(url) : url;
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
  if (pkg?.[1] !== undefined) return pkg[1];
  if (path.startsWith('node:')) return 'node: (core)';
  if (path.startsWith(REPOSITORY)) return `./${path.slice(REPOSITORY.length).split('/').slice(0, -1).join('/') || '.'}`;
  return path;
}

function label(node: ProfileNode): string {
  const { url, functionName, lineNumber } = node.callFrame;
  const path = url.startsWith('file://') ? fileURLToPath(url) : url;
  const short = path.startsWith(REPOSITORY) ? path.slice(REPOSITORY.length) : path.replace(/^.*node_modules\//, '');
  return `${functionName || '(anonymous)'} ${short}${url === '' ? '' : `:${lineNumber + 1}`}`;
}

const { values, positionals } = parseArgs({
  options: { top: { type: 'string' }, match: { type: 'string' }, stacks: { type: 'string' }, exclusive: { type: 'boolean' } },
  allowPositionals: true,
});
const file = positionals[0];
if (file === undefined) {
  console.error('Usage: npx tsx bench/profile-summary.ts FILE.cpuprofile [--top N] [--match TEXT] [--stacks A,B,...] [--exclusive]');
  process.exit(64);
}
const top = Number(values.top ?? '25');
const profile = profileSchema.parse(JSON.parse(await readFile(file, 'utf8')));

const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const selfMs = new Map<number, number>();
profile.samples.forEach((id, index) => {
  selfMs.set(id, (selfMs.get(id) ?? 0) + (profile.timeDeltas[index] ?? 0) / 1000);
});
const idle = [...selfMs].filter(([id]) => byId.get(id)?.callFrame.functionName === '(idle)').reduce((sum, [, ms]) => sum + ms, 0);
const totalMs = [...selfMs.values()].reduce((sum, ms) => sum + ms, 0) - idle;

const add = (map: Map<string, number>, key: string, ms: number) => map.set(key, (map.get(key) ?? 0) + ms);
const areas = new Map<string, number>();
const selfByFunction = new Map<string, number>();
const inclusive = new Map<string, number>();
const stackPatterns = (values.stacks ?? '')
  .split(',')
  .map((text) => text.trim())
  .filter((text) => text !== '');
const stackShares = new Map<string, number>(stackPatterns.map((text) => [text, 0]));
// Depth-first from the root: a node's self time counts once for every distinct function on its path.
const walk = (id: number, path: readonly string[]): void => {
  const node = byId.get(id);
  if (node === undefined) return;
  const key = label(node);
  const onPath = path.includes(key) ? path : [...path, key];
  const ms = node.callFrame.functionName === '(idle)' ? 0 : (selfMs.get(id) ?? 0);
  if (ms > 0) {
    add(areas, area(node), ms);
    add(selfByFunction, key, ms);
    for (const name of onPath) add(inclusive, name, ms);
    let matched = false;
    for (const text of stackPatterns) {
      // "A|B": a frame containing A or B.
      const alternatives = text.split('|');
      if (matched && values.exclusive === true) break;
      if (onPath.some((name) => alternatives.some((alternative) => name.includes(alternative)))) {
        add(stackShares, text, ms);
        matched = true;
      }
    }
    if (!matched && values.exclusive === true) add(stackShares, '(none of these)', ms);
  }
  for (const child of node.children ?? []) walk(child, onPath);
};
const root = profile.nodes[0];
if (root !== undefined) walk(root.id, []);

const share = (ms: number) => `${fixed((ms / totalMs) * 100, 1)}%`;
const sorted = (map: Map<string, number>) => [...map].sort((a, b) => b[1] - a[1]);
console.log(`${file}: ${fixed(totalMs / 1000, 2)} s of samples, not counting ${fixed(idle / 1000, 2)} s idle\n`);
console.log(
  formatTable(
    ['area', 'self ms', 'share'],
    sorted(areas)
      .slice(0, top)
      .map(([name, ms]) => [name, fixed(ms, 0), share(ms)]),
  ),
);
console.log('');
console.log(
  formatTable(
    ['function (self time)', 'self ms', 'share'],
    sorted(selfByFunction)
      .slice(0, top)
      .map(([name, ms]) => [name, fixed(ms, 0), share(ms)]),
  ),
);
console.log('');
const match = values.match;
const ours = sorted(inclusive).filter(([name]) =>
  match === undefined ? !name.includes('node_modules') && / (lib|catalog|ingest|processors|bench)\//.test(name) : name.includes(match),
);
console.log(
  formatTable(
    [`function of ${match === undefined ? 'this repository' : `"${match}"`} (inclusive time)`, 'ms', 'share'],
    ours.slice(0, top).map(([name, ms]) => [name, fixed(ms, 0), share(ms)]),
  ),
);
if (stackPatterns.length > 0) {
  console.log('');
  console.log(
    formatTable(
      ['samples whose stack has a frame containing', 'ms', 'share'],
      [...stackShares].map(([text, ms]) => [text, fixed(ms, 0), share(ms)]),
    ),
  );
}
