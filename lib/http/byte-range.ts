import parseRange from 'range-parser';
import type { ByteRange } from '../ports/blob-store.ts';

/** What a Range header asks of a representation: all of it, one part of it, or nothing it has. */
export type RangeRequest =
  { readonly kind: 'whole' } | { readonly kind: 'part'; readonly range: ByteRange } | { readonly kind: 'unsatisfiable' };

const WHOLE: RangeRequest = { kind: 'whole' };

/** range-parser refuses a suffix longer than the representation; RFC 9110 §14.1.2 takes all of it. */
const clampSuffixes = (header: string, size: number): string =>
  header.replace(/([=,]\s*)-\s*(\d+)/g, (_match, separator: string, length: string) => `${separator}-${Math.min(Number(length), size)}`);

/**
 * The bytes a Range header (RFC 9110 §14.2) asks for of a representation of
 * `size` bytes. A header that is malformed or in another unit than bytes is
 * ignored (the whole representation), as are several ranges that do not
 * merge into one: a multipart answer is optional, and no image client needs it.
 */
export function requestedRange(header: string | undefined, size: number): RangeRequest {
  if (header === undefined || header === '') return WHOLE;
  const ranges = parseRange(size, clampSuffixes(header, size), { combine: true });
  if (ranges === -2) return WHOLE;
  if (ranges === -1) return { kind: 'unsatisfiable' };
  const [only] = ranges;
  if (ranges.type !== 'bytes' || only === undefined || ranges.length > 1) return WHOLE;
  return { kind: 'part', range: { start: only.start, end: only.end } };
}
