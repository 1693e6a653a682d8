import { finished } from 'node:stream/promises';
import type { ScanResult, Scanner } from '../ports/scanner.ts';

const UNSCANNED: ScanResult = Object.freeze({ verdict: 'unscanned', signatures: Object.freeze([]) });

/**
 * Scanning switched off: every verdict is `unscanned`, so the catalog shows
 * that nothing looked at the image. A stream is still read to its end, as the
 * caller expects of a scan (and so that whatever feeds it is not left waiting).
 */
export function createDisabledScanner(): Scanner {
  return {
    enabled: false,
    async scan(body) {
      if (!Buffer.isBuffer(body)) {
        body.resume();
        await finished(body);
      }
      return UNSCANNED;
    },
    checkHealth: () => Promise.resolve(),
  };
}
