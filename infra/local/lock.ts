import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { waitUntil } from '../../lib/wait.ts';
import { runDir } from './settings.ts';

const lockDir = join(runDir, 'stack.lock');
const ownerFile = join(lockDir, 'owner');

function ownerAlive(): boolean {
  try {
    process.kill(Number(readFileSync(ownerFile, 'utf8')), 0);
    return true;
  } catch {
    return false;
  }
}

function tryAcquire(): boolean {
  try {
    mkdirSync(lockDir);
  } catch {
    // Held: by a live process we wait; a dead owner's lock is taken over.
    if (ownerAlive()) return false;
    rmSync(lockDir, { recursive: true, force: true });
    return tryAcquire();
  }
  writeFileSync(ownerFile, String(process.pid));
  return true;
}

/**
 * Runs `work` while holding the stack lock, so that two `stack:up`s (two
 * terminals, or test files started at once) never start the same server twice.
 */
export async function withStackLock<T>(work: () => Promise<T>): Promise<T> {
  await waitUntil(tryAcquire, { timeoutMs: 30 * 60_000, intervalMs: 500, description: `the stack lock ${lockDir}` });
  try {
    return await work();
  } finally {
    rmSync(lockDir, { recursive: true, force: true });
  }
}
