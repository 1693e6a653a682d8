import type { Readable } from 'node:stream';
import { ProgImageError } from '../errors.ts';
import type { ScanVerdict } from '../events/payloads.ts';

export interface ScanResult {
  readonly verdict: ScanVerdict;
  /** Names of what was found; empty unless infected. */
  readonly signatures: readonly string[];
  /** e.g. "ClamAV 1.4.6"; absent when scanning is off. */
  readonly engine?: string;
  /** The signature database version the verdict was made with. */
  readonly signatureVersion?: string;
}

/**
 * The scanner port. A verdict is only ever `clean` when the scanner read the
 * whole input and found nothing: an unreachable scanner, a timeout or a limit
 * hit (archive too deep, too large) rejects with a DependencyUnavailableError
 * or ScanIncompleteError instead.
 */
export interface Scanner {
  /** False when scanning is switched off: every verdict is then `unscanned`. */
  readonly enabled: boolean;
  scan(body: Buffer | Readable): Promise<ScanResult>;
  checkHealth(): Promise<void>;
}

/** The scanner stopped before reading everything (a size, recursion or time limit): never clean. */
export class ScanIncompleteError extends ProgImageError {
  constructor(reason: string) {
    super(`scan incomplete: ${reason}`, { retriable: true });
  }
}
