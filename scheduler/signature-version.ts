import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseClamdVersion } from '../lib/adapters/clamd-scanner.ts';
import { clamdCommand } from '../lib/clamd/command.ts';
import type { ClamdConfig } from '../lib/config/index.ts';

/** clamd's signature database files (https://docs.clamav.net/manual/Signatures.html), not freshclam's own state. */
const SIGNATURE_FILE = /\.(c[vl]d|cud|[hm][ds][bu]|nd[bu]|ld[bu]|cdb|pdb|gdb|wdb|ftm|cbc|idb|crb|sfp|fp|ign2?|yara?)$/;

/** A digest of the signature files' names and contents, as "local:<sha256 prefix>". */
async function databaseDigest(databaseDir: string): Promise<string> {
  const files = (await readdir(databaseDir)).filter((name) => SIGNATURE_FILE.test(name)).sort();
  const hash = createHash('sha256');
  for (const name of files)
    hash
      .update(name)
      .update('\0')
      .update(await readFile(join(databaseDir, name)))
      .update('\0');
  return `local:${hash.digest('hex').slice(0, 16)}`;
}

/** The signatures clamd has loaded: their version, and when they were built (null when clamd does not say). */
export interface LoadedSignatures {
  readonly version: string;
  readonly builtAt: string | null;
}

/**
 * The signatures clamd has loaded: the official database version from VERSION
 * ("ClamAV 1.4.6/27543/…" → "27543") and its build date; clamd without the
 * official databases reports neither, and then a digest of the database
 * directory stands for the version, so that signatures added there still count as new.
 */
export async function loadedSignatures(clamd: ClamdConfig, databaseDir: string): Promise<LoadedSignatures> {
  const { signatureVersion, signaturesBuiltAt } = parseClamdVersion(await clamdCommand(clamd, 'VERSION'));
  return signatureVersion === undefined
    ? { version: await databaseDigest(databaseDir), builtAt: null }
    : { version: signatureVersion, builtAt: signaturesBuiltAt ?? null };
}
