import { jpegSegments, type JpegSegment } from './jpeg-segments.ts';

const SOI = Buffer.from([0xff, 0xd8]);
/** JFIF 1.01 at its smallest: no density (aspect 1:1), no thumbnail. */
const MINIMAL_JFIF = Buffer.from([
  0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00,
]);
const APP0 = 0xe0;
const APP14 = 0xee;
const APP15 = 0xef;
const COM = 0xfe;
/** Adobe's APP14 as its specification has it: the identifier, a version, two flag words and the colour transform. */
const ADOBE_SEGMENT_BYTES = 16;

const startsWith = (bytes: Buffer, segment: JpegSegment, identifier: string): boolean =>
  bytes.toString('latin1', segment.start + 4, segment.start + 4 + identifier.length) === identifier;

/**
 * The same JPEG without its metadata, losslessly: the tables and the
 * entropy-coded data are copied as they are; EXIF, XMP, ICC, IPTC, MPF and
 * every other application segment, comments, and whatever follows the end of
 * the image (a multi-picture file's further pictures) are left out. Two
 * application segments tell decoders how to read the colours and stay: JFIF,
 * rewritten without its density and thumbnail, and Adobe's colour transform.
 * Null when the structure does not walk to the end of the image, or an Adobe
 * segment is longer than its specification (it could carry anything).
 */
export function jpegWithoutMetadata(bytes: Buffer): Buffer | null {
  const { segments, end } = jpegSegments(bytes);
  if (end !== 'eoi') return null;
  const kept: Buffer[] = [SOI];
  for (const segment of segments) {
    const { marker } = segment;
    if (marker === APP0 && startsWith(bytes, segment, 'JFIF\0')) {
      kept.push(MINIMAL_JFIF);
    } else if (marker === APP14 && startsWith(bytes, segment, 'Adobe')) {
      if (segment.end - segment.start !== ADOBE_SEGMENT_BYTES) return null;
      kept.push(bytes.subarray(segment.start, segment.end));
    } else if (!(marker >= APP0 && marker <= APP15) && marker !== COM) {
      kept.push(bytes.subarray(segment.start, segment.end));
    }
  }
  return Buffer.concat(kept);
}
