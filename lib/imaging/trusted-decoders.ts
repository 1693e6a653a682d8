import sharp from 'sharp';
import type { ImageFormat } from '../events/payloads.ts';

/** libvips' loaders of images held in memory, by the format they read. */
const BUFFER_LOADERS: Readonly<Record<ImageFormat, readonly string[]>> = {
  jpeg: ['VipsForeignLoadJpegBuffer'],
  png: ['VipsForeignLoadPngBuffer'],
  webp: ['VipsForeignLoadWebpBuffer'],
  gif: ['VipsForeignLoadNsgifBuffer'],
  avif: ['VipsForeignLoadHeifBuffer'],
  heif: ['VipsForeignLoadHeifBuffer'],
  tiff: ['VipsForeignLoadTiffBuffer'],
  svg: ['VipsForeignLoadSvgBuffer'],
};

/**
 * Lets libvips run only the decoders of the accepted formats, reading from
 * memory: every other loader (PDF, JPEG 2000, FITS, Matlab, ImageMagick, files
 * on disk …) is blocked in the process, so no byte sniffing, however fooled,
 * can reach a decoder nobody meant to expose. SVG masks are drawn by
 * ProgImage itself, so the SVG loader always stays.
 */
export function allowOnlyTrustedDecoders(accepted: readonly ImageFormat[]): void {
  sharp.block({ operation: ['VipsForeignLoad'] });
  sharp.unblock({ operation: [...new Set([...accepted, 'svg' as const].flatMap((format) => BUFFER_LOADERS[format]))] });
}
