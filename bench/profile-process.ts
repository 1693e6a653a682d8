/**
 * `node --experimental-websocket --import tsx bench/profile-process.ts PID SECONDS OUT.cpuprofile`:
 * a V8 CPU profile of a Node process that is already running and was not
 * started for profiling: the API process of `npm run start:distributed` under
 * a benchmark's load, say, which `--profile` cannot reach (it profiles the
 * benchmarks' own children). SIGUSR1 makes the process open its inspector on
 * 127.0.0.1:9229 (Node's default; nothing else may hold that port); the
 * profile is taken over the DevTools protocol, and the inspector is closed
 * again. Summarise it with bench/profile-summary.ts. `--experimental-websocket`
 * gives Node 20 the WebSocket client the protocol needs (Node 22 has it
 * without the flag). Profiling slows the process while it runs.
 */
import { writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { waitUntil } from '../lib/wait.ts';

const INSPECTOR = 'http://127.0.0.1:9229';
const USAGE = 'usage: node --experimental-websocket --import tsx bench/profile-process.ts PID SECONDS OUT.cpuprofile';
/** Microseconds between samples: V8's default for `node --cpu-prof`, fine enough for a request of tens of microseconds. */
const SAMPLING_INTERVAL_US = 1000;

const targetsSchema = z.array(z.object({ webSocketDebuggerUrl: z.string() }));
const replySchema = z.object({ id: z.number(), result: z.unknown().optional(), error: z.object({ message: z.string() }).optional() });

/** The inspector's WebSocket address, once the process has opened it (it takes a moment after SIGUSR1). */
async function debuggerUrl(pid: number): Promise<string> {
  process.kill(pid, 'SIGUSR1');
  const target = await waitUntil(async () => targetsSchema.parse(await (await fetch(`${INSPECTOR}/json/list`)).json())[0] ?? false, {
    timeoutMs: 5_000,
    intervalMs: 100,
    description: `process ${pid} to open its inspector on ${INSPECTOR} (is it a Node process? is the port taken?)`,
  });
  return target.webSocketDebuggerUrl;
}

/** One DevTools protocol session: commands sent in order, each answered by its id. */
async function openSession(url: string): Promise<{ send: (method: string, params?: object) => Promise<unknown>; close: () => void }> {
  const socket = new WebSocket(url);
  await new Promise<void>((resolve, reject) => {
    socket.addEventListener('open', () => {
      resolve();
    });
    socket.addEventListener('error', () => {
      reject(new Error(`could not connect to ${url}`));
    });
  });
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  socket.addEventListener('message', (event) => {
    const parsed = replySchema.safeParse(JSON.parse(String(event.data)));
    if (!parsed.success) return; // an event, not a reply
    const waiting = pending.get(parsed.data.id);
    pending.delete(parsed.data.id);
    if (parsed.data.error === undefined) waiting?.resolve(parsed.data.result);
    else waiting?.reject(new Error(parsed.data.error.message));
  });
  let lastId = 0;
  return {
    send: (method, params = {}) =>
      new Promise((resolve, reject) => {
        lastId += 1;
        pending.set(lastId, { resolve, reject });
        socket.send(JSON.stringify({ id: lastId, method, params }));
      }),
    close: () => {
      socket.close();
    },
  };
}

async function main(): Promise<void> {
  const [pidText, secondsText, out] = process.argv.slice(2);
  const pid = Number(pidText);
  const seconds = Number(secondsText);
  if (!Number.isInteger(pid) || !(seconds > 0) || out === undefined) throw new Error(USAGE);
  if (typeof WebSocket === 'undefined') throw new Error(`no WebSocket client in this Node: ${USAGE}`);
  const session = await openSession(await debuggerUrl(pid));
  try {
    await session.send('Profiler.enable');
    await session.send('Profiler.setSamplingInterval', { interval: SAMPLING_INTERVAL_US });
    await session.send('Profiler.start');
    await sleep(seconds * 1000);
    const { profile } = z.object({ profile: z.unknown() }).parse(await session.send('Profiler.stop'));
    await writeFile(out, JSON.stringify(profile));
    console.log(`${out}: ${seconds} s of process ${pid}`);
  } finally {
    // process._debugEnd closes the inspector that SIGUSR1 opened, so that the next process can take the port.
    // Its reply may never come: the connection closes with the inspector.
    await Promise.race([session.send('Runtime.evaluate', { expression: 'process._debugEnd()' }).catch(() => undefined), sleep(1000)]);
    session.close();
  }
}

await main();
