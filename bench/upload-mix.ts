import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { imageFormatSchema } from '../lib/events/payloads.ts';
import { CONTENT_TYPES } from '../lib/imaging/formats.ts';

/**
 * The images a load test uploads, in turn: real photos and graphics from the
 * shared fixtures, small and medium, JPEG, PNG and WebP.
 */
const FIXTURES = [
  '320x240.jpg', // small JPEG photo, 81 KB
  'Landscape_1.jpg', // 600x450 JPEG with an EXIF orientation, 140 KB
  'flowers.jpeg', // 1920x1080 JPEG photo, 85 KB
  'with-alpha.png', // 256x192 PNG with transparency, 1 KB
  'Flag_of_the_Netherlands-16bit.png', // 900x600 16-bit PNG, 5 KB
  '4.webp', // 1024x772 WebP photo, 177 KB
] as const;

const FIXTURE_DIR = new URL('../../shared/fixtures/images/', import.meta.url);

export interface UploadFixture {
  readonly name: string;
  readonly bytes: Buffer;
  readonly contentType: string;
  /** "jpeg 320x240, 81198 bytes" */
  readonly description: string;
}

export async function loadUploadMix(): Promise<UploadFixture[]> {
  return Promise.all(
    FIXTURES.map(async (name) => {
      const bytes = await readFile(fileURLToPath(new URL(name, FIXTURE_DIR)));
      const { format, width, height } = await sharp(bytes).metadata();
      const imageFormat = imageFormatSchema.parse(format);
      return {
        name,
        bytes,
        contentType: CONTENT_TYPES[imageFormat],
        description: `${imageFormat} ${width}x${height}, ${bytes.length} bytes`,
      };
    }),
  );
}
