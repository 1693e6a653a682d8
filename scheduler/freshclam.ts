import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import type { SchedulerConfig } from '../lib/config/index.ts';

/** freshclam.conf for one update of `databaseDir`, from a private mirror when one is configured. */
function freshclamConf({ mirror, databaseDir }: SchedulerConfig['freshclam']): string {
  const source = mirror === null ? 'DatabaseMirror database.clamav.net' : `PrivateMirror ${mirror.href.replace(/\/$/, '')}`;
  return `${[
    `DatabaseDirectory ${databaseDir}`,
    `DatabaseOwner ${userInfo().username}`,
    source,
    'ConnectTimeout 30',
    'ReceiveTimeout 60',
    'MaxAttempts 2',
  ].join('\n')}\n`;
}

/**
 * Runs freshclam once. Rejects with the end of its output when it fails
 * (offline, mirror down, a database that does not verify).
 */
export async function runFreshclam(settings: SchedulerConfig['freshclam']): Promise<void> {
  const directory = await mkdtemp(join(tmpdir(), 'progimage-freshclam-'));
  const conf = join(directory, 'freshclam.conf');
  try {
    await writeFile(conf, freshclamConf(settings));
    await new Promise<void>((resolve, reject) => {
      execFile(
        'freshclam',
        [`--config-file=${conf}`, '--stdout', '--no-warnings'],
        { timeout: settings.timeoutMs, maxBuffer: 4 * 1024 * 1024 },
        (error, stdout, stderr) => {
          if (error === null) {
            resolve();
            return;
          }
          const output = `${stdout}${stderr}`.trim().split('\n').slice(-3).join(' | ');
          reject(new Error(`freshclam failed (${error.killed ? 'timed out' : `exit ${String(error.code)}`}): ${output}`));
        },
      );
    });
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}
