import type { ImageFormat } from '../events/payloads.ts';
import { FORMAT_BY_CONTENT_TYPE } from './formats.ts';

const FORMAT_BY_EXTENSION: Readonly<Record<string, ImageFormat>> = {
  jpg: 'jpeg',
  jpeg: 'jpeg',
  jpe: 'jpeg',
  png: 'png',
  webp: 'webp',
  gif: 'gif',
  avif: 'avif',
  heic: 'heif',
  heif: 'heif',
  tif: 'tiff',
  tiff: 'tiff',
  svg: 'svg',
};

/** What the client said a file is: its declared content type and its name (multipart). */
export interface Claims {
  readonly contentType?: string;
  readonly filename?: string;
}

/** AVIF is a HEIF profile: a file named .heic holding AVIF (or the reverse) claims nothing false. */
const family = (format: ImageFormat): string => (format === 'avif' || format === 'heif' ? 'heif' : format);

/**
 * The first claim that contradicts the sniffed format, described, or null.
 * Claims that name no image format (application/octet-stream, .bin) are not claims.
 */
export function contradictedClaim(claims: Claims, sniffed: ImageFormat): string | null {
  const contentType = claims.contentType?.split(';')[0]?.trim().toLowerCase();
  const byType = contentType === undefined ? undefined : FORMAT_BY_CONTENT_TYPE[contentType];
  if (byType !== undefined && family(byType) !== family(sniffed)) return `sent as ${contentType ?? ''}`;
  const extension =
    claims.filename?.includes('.') === true ? claims.filename.slice(claims.filename.lastIndexOf('.') + 1).toLowerCase() : undefined;
  const byName = extension === undefined ? undefined : FORMAT_BY_EXTENSION[extension];
  if (byName !== undefined && family(byName) !== family(sniffed)) return `named ${claims.filename ?? ''}`;
  return null;
}
