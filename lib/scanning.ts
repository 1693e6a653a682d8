import { InfectedImageError } from './errors.ts';
import type { Scanner } from './ports/scanner.ts';

/**
 * Scans bytes that arrived outside the upload pipeline (request data, a
 * remote source) before anything decodes them: infected → 422 `infected`.
 * A scanner that fails or cannot finish rejects with its own (retriable)
 * error: never clean. With scanning off, nothing is checked.
 */
export async function assertNotInfected(scanner: Scanner, bytes: Buffer): Promise<void> {
  if (!scanner.enabled) return;
  const result = await scanner.scan(bytes);
  if (result.verdict === 'infected') {
    throw new InfectedImageError('the image was found infected', { signatures: result.signatures });
  }
}
