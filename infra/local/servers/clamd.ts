import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connectClamd } from '../../../lib/clamd/client.ts';
import type { LocalServer } from '../server.ts';
import { HOST, localInfraDir, PORTS, runDir } from '../settings.ts';
import { findExecutable, installDebianPackages, requireTool, run } from '../tools.ts';

const workDir = join(runDir, 'clamd');
/** Where clamd loads its signatures from: tests add to it as a freshclam update would. */
export const clamdDatabaseDir = join(workDir, 'db');
const configFile = join(workDir, 'clamd.conf');
const logFile = join(runDir, 'clamd.log');
const freshclamLog = join(runDir, 'freshclam.log');
const freshclamAttempt = join(workDir, 'freshclam-attempted');
const signaturesDir = join(localInfraDir, 'clamav');

const CLAMD_HINT = 'install ClamAV (Debian/Ubuntu: apt-get install clamav-daemon clamav-freshclam)';
const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Limits make clamd alert (Heuristics.Limits.Exceeded) rather than pass a file
 * it did not finish scanning: a zip bomb is "not clean", never "clean".
 */
function clamdConf(): string {
  return `${[
    'Foreground yes',
    `TCPSocket ${PORTS.clamd}`,
    `TCPAddr ${HOST}`,
    `DatabaseDirectory ${clamdDatabaseDir}`,
    'LogTime yes',
    'MaxThreads 4',
    'ReadTimeout 60',
    'CommandReadTimeout 30',
    'StreamMaxLength 100M',
    'MaxScanSize 400M',
    'MaxFileSize 100M',
    'MaxRecursion 16',
    'MaxFiles 10000',
    'MaxScanTime 120000',
    'HeuristicAlerts yes',
    'AlertExceedsMax yes',
    'AlertEncrypted no',
    'ConcurrentDatabaseReload no',
    'SelfCheck 600',
  ].join('\n')}\n`;
}

function freshclamConf(): string {
  return `${[`DatabaseDirectory ${clamdDatabaseDir}`, 'DatabaseOwner root', 'DatabaseMirror database.clamav.net', 'ConnectTimeout 10', 'ReceiveTimeout 30', 'MaxAttempts 1'].join('\n')}\n`;
}

const hasOfficialSignatures = (): boolean => readdirSync(clamdDatabaseDir).some((file) => /^(daily|main)\.c[vl]d$/.test(file));

/** freshclam fetches the official signatures where a mirror is reachable; offline that is a warning. */
async function refreshSignatures(): Promise<void> {
  const freshclam = findExecutable('freshclam');
  if (freshclam === null || hasOfficialSignatures()) return;
  if (existsSync(freshclamAttempt) && Date.now() - statSync(freshclamAttempt).mtimeMs < DAY_MS) return;
  writeFileSync(freshclamAttempt, new Date().toISOString());
  const conf = join(workDir, 'freshclam.conf');
  writeFileSync(conf, freshclamConf());
  try {
    await run(freshclam, [`--config-file=${conf}`, '--stdout'], { logFile: freshclamLog, timeoutMs: 120_000 });
  } catch {
    console.warn(
      `warning: freshclam could not fetch signatures (offline?); clamd runs with the project's test signatures only. See ${freshclamLog}`,
    );
  }
}

function clamdVersion(): string {
  const clamd = findExecutable('clamd');
  if (clamd === null) return 'not installed';
  return execFileSync(clamd, ['--version'], { encoding: 'utf8' }).trim();
}

export const clamdServer: LocalServer = {
  name: 'clamd',
  get version() {
    return clamdVersion();
  },
  logFile,
  address: `${HOST}:${PORTS.clamd}`,
  ports: [PORTS.clamd],
  startTimeoutMs: 180_000,

  async install() {
    if (findExecutable('clamd') !== null) return;
    await installDebianPackages(['clamav-daemon', 'clamav-freshclam'], 'clamd', CLAMD_HINT, join(runDir, 'clamd-install.log'));
  },

  async prepare() {
    mkdirSync(clamdDatabaseDir, { recursive: true });
    for (const file of readdirSync(signaturesDir).filter((name) => /\.(hdb|ndb)$/.test(name))) {
      copyFileSync(join(signaturesDir, file), join(clamdDatabaseDir, file));
    }
    writeFileSync(configFile, clamdConf());
    await refreshSignatures();
  },

  process() {
    return { command: requireTool('clamd', CLAMD_HINT), args: [`--config-file=${configFile}`] };
  },

  async checkHealth() {
    const clam = await connectClamd({ host: HOST, port: PORTS.clamd, timeoutMs: 2000 });
    const socket = await clam.ping();
    socket.end();
  },
};
