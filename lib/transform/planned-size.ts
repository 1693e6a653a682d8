import { InvalidRequestError } from '../errors.ts';
import type { OutputFormat } from '../imaging/formats.ts';
import { fitsFormat, MAX_SIDE } from '../imaging/format-limits.ts';
import { imageLimits } from '../imaging/limits.ts';
import type { CanonicalTransform } from './canonical.ts';
import { MAX_OUTPUT_SIDE } from '@progimage/transform-language/schema';

export interface Size {
  readonly width: number;
  readonly height: number;
}

function resized(size: Size, t: CanonicalTransform): Size {
  const { width, height } = size;
  const cap = (scale: number) => (t.enlarge === true ? scale : Math.min(scale, 1));
  if (t.width !== undefined && t.height !== undefined) {
    const fit = t.fit ?? 'cover';
    if (fit === 'inside' || fit === 'outside') {
      const pick = fit === 'inside' ? Math.min : Math.max;
      const scale = cap(pick(t.width / width, t.height / height));
      return { width: width * scale, height: height * scale };
    }
    return { width: t.width, height: t.height };
  }
  const scale = cap(t.width !== undefined ? t.width / width : t.height !== undefined ? t.height / height : 1);
  return { width: width * scale, height: height * scale };
}

function rotated(size: Size, degrees: number): Size {
  const radians = (degrees * Math.PI) / 180;
  const cos = Math.abs(Math.cos(radians));
  const sin = Math.abs(Math.sin(radians));
  return { width: size.width * cos + size.height * sin, height: size.width * sin + size.height * cos };
}

/**
 * At most how large the output of `transform` on an image of `source` size
 * can be, worked out before any pixel is touched (trim only shrinks; a crop
 * is cut at the edges).
 */
export function plannedSize(source: Size, t: CanonicalTransform): Size {
  let size = source;
  if (t.crop !== undefined) size = { width: Math.min(t.crop.width, size.width), height: Math.min(t.crop.height, size.height) };
  if (t.width !== undefined || t.height !== undefined) size = resized(size, t);
  if (t.rotate !== undefined) size = rotated(size, t.rotate);
  if (t.extend !== undefined) {
    size = { width: size.width + t.extend.left + t.extend.right, height: size.height + t.extend.top + t.extend.bottom };
  }
  return { width: Math.ceil(size.width - 1e-9), height: Math.ceil(size.height - 1e-9) };
}

/** Refuses a transformation whose output would exceed the bounds: no side over MAX_OUTPUT_SIDE, no more pixels than an input may have. */
export function assertOutputBounds(size: Size): void {
  if (size.width > MAX_OUTPUT_SIDE || size.height > MAX_OUTPUT_SIDE || size.width * size.height > imageLimits().maxInputPixels) {
    throw new InvalidRequestError(
      'output_too_large',
      `the output would be ${size.width}x${size.height}: at most ${MAX_OUTPUT_SIDE} pixels a side and ${imageLimits().maxInputPixels} in all`,
      {
        width: size.width,
        height: size.height,
        maxSide: MAX_OUTPUT_SIDE,
        maxPixels: imageLimits().maxInputPixels,
      },
    );
  }
}

/** Refuses an output its format cannot hold (WebP: 16383 pixels a side): 400 naming the format and its limit. */
export function assertFitsFormat(size: Size, format: OutputFormat): void {
  if (fitsFormat(size, format)) return;
  const maxSide = MAX_SIDE[format];
  throw new InvalidRequestError(
    'format_limit_exceeded',
    `the output would be ${size.width}x${size.height}: ${format} holds at most ${maxSide} pixels a side; ask for a smaller size (w, h) or another format`,
    { format, maxSide, width: size.width, height: size.height },
  );
}
