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

/** The loaders allowed now, as allowOnlyTrustedDecoders last set them. */
let inForce: string | undefined;

/**
 * Lets libvips run only the decoders of the accepted formats, reading from
 * memory: every other loader (PDF, JPEG 2000, FITS, Matlab, ImageMagick, files
 * on disk …) is blocked in the process, so no byte sniffing, however fooled,
 * can reach a decoder nobody meant to expose. SVG masks are drawn by
 * ProgImage itself, so the SVG loader always stays.
 */
export function allowOnlyTrustedDecoders(accepted: readonly ImageFormat[]): void {
  const allowed = [...new Set([...accepted, 'svg' as const].flatMap((format) => BUFFER_LOADERS[format]))].sort();
  // Blocking every loader, then unblocking the allowed ones, leaves a moment in which a decode on
  // another thread finds its loader blocked: done again for the same formats (every service
  // hosted in one process applies them), it would fail decodes under way.
  if (allowed.join() === inForce) return;
  sharp.block({ operation: ['VipsForeignLoad'] });
  sharp.unblock({ operation: allowed });
  inForce = allowed.join();
}
