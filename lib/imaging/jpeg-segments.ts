/** One marker of a JPEG file and the bytes it covers. */
export interface JpegSegment {
  /** The marker's second byte: 0xE1 for APP1, 0xDA for SOS, 0xD9 for EOI … */
  readonly marker: number;
  /** The offset of its 0xFF. */
  readonly start: number;
  /** The offset after it; a scan (SOS) covers its entropy-coded data too, restart markers included. */
  readonly end: number;
}

/** How a walk ended: at the end-of-image marker, at the end of the bytes first, or at something that is not a marker. */
export type JpegWalkEnd = 'eoi' | 'truncated' | 'not-a-marker';

const isRestart = (marker: number): boolean => marker >= 0xd0 && marker <= 0xd7;
const isStandalone = (marker: number): boolean => isRestart(marker) || marker === 0x01;

/**
 * Where the entropy-coded data starting at `from` ends: at the next marker. A
 * 0xFF in the data is followed by 0x00 (stuffing) or a restart marker; any
 * other byte makes it a marker. The end of the bytes when there is none. Found
 * with indexOf, which skips to each 0xFF natively: a byte-by-byte loop took
 * 2.5 ms of the main thread for an 829 KB photo on every upload and transform.
 */
function entropyCodedDataEnd(bytes: Buffer, from: number): number {
  for (let at = bytes.indexOf(0xff, from); at !== -1 && at + 1 < bytes.length; at = bytes.indexOf(0xff, at + 1)) {
    const next = bytes[at + 1] ?? 0;
    if (next !== 0x00 && !isRestart(next)) return at;
  }
  return bytes.length;
}

export interface JpegStructure {
  readonly segments: readonly JpegSegment[];
  readonly end: JpegWalkEnd;
}

/**
 * The segments of a JPEG file after its SOI, in order, up to and including
 * EOI (nothing after it is looked at); fill bytes (0xFF before a marker) are
 * skipped.
 */
export function jpegSegments(bytes: Buffer): JpegStructure {
  const segments: JpegSegment[] = [];
  const ended = (end: JpegWalkEnd): JpegStructure => ({ segments, end });
  let at = 2;
  while (at + 1 < bytes.length) {
    if (bytes[at] !== 0xff) return ended('not-a-marker');
    const marker = bytes[at + 1] ?? 0;
    if (marker === 0xff) {
      at += 1;
      continue;
    }
    if (marker === 0xd9) {
      segments.push({ marker, start: at, end: at + 2 });
      return ended('eoi');
    }
    if (isStandalone(marker)) {
      segments.push({ marker, start: at, end: at + 2 });
      at += 2;
      continue;
    }
    if (at + 3 >= bytes.length) return ended('truncated');
    const start = at;
    at += 2 + bytes.readUInt16BE(at + 2);
    if (marker === 0xda) at = entropyCodedDataEnd(bytes, at);
    if (at + 1 >= bytes.length) return ended('truncated');
    segments.push({ marker, start, end: at });
  }
  return ended('truncated');
}
