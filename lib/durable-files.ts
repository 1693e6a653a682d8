import { open } from 'node:fs/promises';

/** The `code` of a Node.js system error (ENOENT, EEXIST, …), if it has one. */
export const errorCode = (error: unknown): unknown =>
  typeof error === 'object' && error !== null && 'code' in error ? error.code : undefined;

/**
 * Writes a whole file and fsyncs it before resolving. `flag` "wx" refuses to
 * overwrite; "w" replaces. Pair with a rename and `syncDirectory` for an
 * atomic, durable replace.
 */
export async function writeFileDurably(path: string, content: Buffer | string, flag: 'w' | 'wx' = 'w'): Promise<void> {
  const file = await open(path, flag);
  try {
    await file.writeFile(content);
    await file.sync();
  } finally {
    await file.close();
  }
}

/** Makes the creations and renames in `dir` durable. Best effort: some systems cannot fsync a folder. */
export async function syncDirectory(dir: string): Promise<void> {
  try {
    const folder = await open(dir, 'r');
    try {
      await folder.sync();
    } finally {
      await folder.close();
    }
  } catch (error) {
    if (!['EISDIR', 'EPERM', 'EINVAL', 'ENOTSUP'].includes(String(errorCode(error)))) throw error;
  }
}
