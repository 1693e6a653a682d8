import sharp from 'sharp';
import { EICAR, readFixture } from './fixtures.ts';

/** What sharp reports as the format of each extension's output (AVIF is a HEIF container). */
export const SHARP_FORMAT: Readonly<Record<string, string>> = {
  jpg: 'jpeg',
  png: 'png',
  webp: 'webp',
  avif: 'heif',
  gif: 'gif',
  tiff: 'tiff',
};

export const OUTPUT_EXTENSIONS = Object.keys(SHARP_FORMAT);

/** The upright size of a fixture (EXIF orientations 5-8 swap the sides), one frame of an animation. */
export async function uprightSize(name: string): Promise<{ width: number; height: number; pages: number }> {
  // Only GIF and WebP pages are animation frames; TIFF and HEIF pages are separate images.
  const meta = await sharp(await readFixture(name), { animated: /\.(gif|webp)$/.test(name) }).metadata();
  const width = meta.width;
  const height = meta.pageHeight ?? meta.height;
  const swap = (meta.orientation ?? 1) >= 5;
  return { width: swap ? height : width, height: swap ? width : height, pages: meta.pages ?? 1 };
}

/** A JPEG carrying the EICAR test string in a comment (COM) segment right after SOI. */
export async function jpegWithEicarComment(): Promise<Buffer> {
  const jpeg = await readFixture('320x240.jpg');
  const length = Buffer.alloc(2);
  length.writeUInt16BE(EICAR.length + 2);
  return Buffer.concat([jpeg.subarray(0, 2), Buffer.from([0xff, 0xfe]), length, EICAR, jpeg.subarray(2)]);
}

/** Mean absolute difference of two images' pixels (0-255), after scaling both to the same small size. */
export async function pixelDifference(a: Buffer, b: Buffer): Promise<number> {
  const small = (bytes: Buffer) => sharp(bytes).resize(64, 48, { fit: 'fill' }).removeAlpha().raw().toBuffer();
  const [left, right] = await Promise.all([small(a), small(b)]);
  let total = 0;
  for (let index = 0; index < left.length; index += 1) total += Math.abs((left[index] ?? 0) - (right[index] ?? 0));
  return total / left.length;
}
