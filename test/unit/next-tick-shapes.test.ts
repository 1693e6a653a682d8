import test from 'ava';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// Whether V8 still inlines process.nextTick's queue entry after full collections that
// ran while no entry was alive (lib/runtime/pin-next-tick-shapes.ts says why it may not).
// %DebugPrint shows the state of each key's definition in nextTick's feedback.

const repositoryRoot = fileURLToPath(new URL('../..', import.meta.url));

const script = `
const ticks = (count) => new Promise((resolve) => {
  let left = count;
  const tick = () => (--left > 0 ? process.nextTick(tick) : resolve());
  process.nextTick(tick);
});
await ticks(100_000);
await new Promise((resolve) => setTimeout(resolve, 10));
for (let collection = 0; collection < 8; collection++) gc();
await ticks(100_000);
%DebugPrint(process.nextTick);
`;
const v8Flags = ['--expose-gc', '--allow-natives-syntax', '--input-type=module', '-e', script];

/** How the four keys of nextTick's literal are defined: MONOMORPHIC (inlined) or MEGAMORPHIC (the runtime, for good). */
async function keyDefinitions(command: string): Promise<string[]> {
  // V8 prints through C's stdio, which loses what a non-blocking pipe refuses (Node makes its
  // stdout pipe non-blocking), so the child prints to a file.
  const folder = mkdtempSync(path.join(tmpdir(), 'next-tick-shapes-'));
  const outputPath = path.join(folder, 'output');
  const output = openSync(outputPath, 'w');
  try {
    const child = spawn(command, v8Flags, { cwd: repositoryRoot, stdio: ['ignore', output, output] });
    const [code] = (await once(child, 'exit')) as [number | null];
    const printed = readFileSync(outputPath, 'utf8');
    if (code !== 0) throw new Error(`${command} exited with ${String(code)}: ${printed}`);
    return [...printed.matchAll(/DefineKeyedOwnPropertyInLiteral (\w+)/g)].map((match) => match[1] ?? '');
  } finally {
    closeSync(output);
    rmSync(folder, { recursive: true, force: true });
  }
}

test('under progimage-node, process.nextTick keeps its fast path after full collections with no entry alive; bare node loses it', async (t) => {
  t.deepEqual(
    await keyDefinitions('node'),
    ['MONOMORPHIC', 'MEGAMORPHIC', 'MEGAMORPHIC', 'MEGAMORPHIC'],
    'bare node falls onto the slow path (if not, this Node no longer needs the pin)',
  );
  t.deepEqual(await keyDefinitions('infra/progimage-node'), ['MONOMORPHIC', 'MONOMORPHIC', 'MONOMORPHIC', 'MONOMORPHIC']);
});
