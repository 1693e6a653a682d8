import { fileTypeFromBuffer } from 'file-type';
import { imageSize } from 'image-size';
import type { ImageFormat } from '../events/payloads.ts';
import { HttpError } from '../http/errors.ts';
import { CONTENT_TYPES } from './formats.ts';
import { IMAGE_LIMITS } from './limits.ts';

export interface IdentifiedImage {
  readonly format: ImageFormat;
  readonly contentType: string;
  readonly width: number;
  readonly height: number;
}

const FORMAT_BY_MIME: Readonly<Record<string, ImageFormat>> = {
  'image/jpeg': 'jpeg',
  'image/png': 'png',
  'image/webp': 'webp',
  'image/gif': 'gif',
  'image/avif': 'avif',
  'image/heic': 'heif',
  'image/heif': 'heif',
  'image/tiff': 'tiff',
};

/** SVG is text: after an optional BOM, XML declaration, comments and doctype, the root must be <svg>. */
const SVG_START = /^\uFEFF?\s*(<\?xml[^>]*>\s*)?(<!--[\s\S]*?-->\s*)*(<!DOCTYPE[^>]*>\s*)?(<!--[\s\S]*?-->\s*)*<svg[\s>]/i;

async function sniffFormat(bytes: Buffer): Promise<ImageFormat | null> {
  const detected = await fileTypeFromBuffer(bytes);
  if (detected !== undefined) return FORMAT_BY_MIME[detected.mime] ?? null;
  return SVG_START.test(bytes.subarray(0, 4096).toString('utf8')) ? 'svg' : null;
}

/** Width and height from the header alone: nothing is decoded before the virus scan. */
function headerDimensions(bytes: Buffer): { width: number; height: number } {
  try {
    const { width, height } = imageSize(bytes);
    if (width > 0 && height > 0) return { width, height };
  } catch {
    // reported below
  }
  throw new HttpError(422, 'unreadable_image', 'the image header is corrupt or incomplete: its dimensions cannot be read');
}

/**
 * What an upload really is, from its bytes (never its name or declared type),
 * and whether ProgImage takes it: an accepted format, readable dimensions,
 * and no more pixels than the limit (a pixel bomb is refused from its header).
 */
export async function identifyImage(bytes: Buffer, accepted: readonly ImageFormat[]): Promise<IdentifiedImage> {
  const format = await sniffFormat(bytes);
  if (format === null || !accepted.includes(format)) {
    throw new HttpError(415, 'unsupported_media_type', 'the content is not an image in an accepted format', {
      accepted: accepted.map((name) => CONTENT_TYPES[name]),
      ...(format === null ? {} : { detected: CONTENT_TYPES[format] }),
    });
  }
  const { width, height } = headerDimensions(bytes);
  if (width * height > IMAGE_LIMITS.maxInputPixels) {
    throw new HttpError(422, 'too_many_pixels', `the image is ${width}x${height}: more than ${IMAGE_LIMITS.maxInputPixels} pixels`, {
      width,
      height,
      maxPixels: IMAGE_LIMITS.maxInputPixels,
    });
  }
  return { format, contentType: CONTENT_TYPES[format], width, height };
}
