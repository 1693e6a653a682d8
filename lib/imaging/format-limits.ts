import type { OutputFormat } from './formats.ts';

/**
 * The longest side each output format can hold, as its encoder enforces it
 * (measured with sharp 0.35 / libvips 8.18): WebP 16383 (libwebp), AVIF 16384
 * (sharp's HEIF writer), JPEG 65500 (libjpeg), GIF 65535 (16-bit sizes). PNG
 * and TIFF hold more than any image the input limits admit (null). For an
 * animation, the side of one frame.
 */
export const MAX_SIDE: Readonly<Record<OutputFormat, number | null>> = {
  jpeg: 65_500,
  png: null,
  webp: 16_383,
  avif: 16_384,
  gif: 65_535,
  tiff: null,
};

export interface Dimensions {
  readonly width: number;
  readonly height: number;
}

/** Whether an image of `size` can be written as `format`. */
export function fitsFormat({ width, height }: Dimensions, format: OutputFormat): boolean {
  const maxSide = MAX_SIDE[format];
  return maxSide === null || (width <= maxSide && height <= maxSide);
}
