import sharp, {
  type AvifOptions,
  type GifOptions,
  type JpegOptions,
  type PngOptions,
  type Sharp,
  type TiffOptions,
  type WebpOptions,
} from 'sharp';
import type { ImageFormat } from '../events/payloads.ts';
import { UnprocessableImageError } from './errors.ts';
import { canAnimate, type OutputFormat } from './formats.ts';
import { IMAGE_LIMITS } from './limits.ts';

/**
 * Opens image bytes for processing: animations keep every frame (unless the
 * output cannot animate: then only the first), limits apply, and any decoder
 * warning (a truncated file) is an error rather than grey pixels.
 */
export function openImage(bytes: Buffer, format: ImageFormat, options: { readonly stillOnly?: boolean } = {}): Sharp {
  return sharp(bytes, {
    animated: canAnimate(format) && options.stillOnly !== true,
    limitInputPixels: IMAGE_LIMITS.maxInputPixels,
    failOn: 'warning',
  });
}

/**
 * How to encode. `master`: near-lossless, the source of every derivative.
 * `compact`: the compress stage, in the background — visually lossless, and
 * worth a few seconds for fewer bytes. `delivery`: variants and conversions
 * made while a client may be waiting — the same quality, much less effort
 * (AVIF at effort 4 takes 19 s for an 8 MP photo on 2 cores; at 2, 3 s).
 */
export type EncodingProfile = 'master' | 'compact' | 'delivery';

interface FormatOptions {
  readonly jpeg: JpegOptions;
  readonly png: PngOptions;
  readonly webp: WebpOptions;
  readonly avif: AvifOptions;
  readonly gif: GifOptions;
  readonly tiff: TiffOptions;
}

const PROFILES: Readonly<Record<EncodingProfile, FormatOptions>> = {
  master: {
    jpeg: { quality: 95, chromaSubsampling: '4:4:4' },
    png: { compressionLevel: 6 },
    webp: { quality: 95, effort: 4 },
    avif: { quality: 80, effort: 2 },
    gif: { effort: 7 },
    tiff: { compression: 'lzw' },
  },
  compact: {
    jpeg: { quality: 82, mozjpeg: true },
    png: { compressionLevel: 9, adaptiveFiltering: true },
    webp: { quality: 80, effort: 5, smartSubsample: true },
    avif: { quality: 55, effort: 3 },
    gif: { effort: 7 },
    tiff: { compression: 'deflate' },
  },
  delivery: {
    jpeg: { quality: 82, mozjpeg: true },
    png: { compressionLevel: 9 },
    webp: { quality: 80, effort: 4 },
    avif: { quality: 55, effort: 2 },
    gif: { effort: 7 },
    tiff: { compression: 'deflate' },
  },
};

export function encodeAs(image: Sharp, format: OutputFormat, profile: EncodingProfile): Sharp {
  const options = PROFILES[profile];
  switch (format) {
    case 'jpeg':
      return image.jpeg(options.jpeg);
    case 'png':
      return image.png(options.png);
    case 'webp':
      return image.webp(options.webp);
    case 'avif':
      return image.avif(options.avif);
    case 'gif':
      return image.gif(options.gif);
    case 'tiff':
      return image.tiff(options.tiff);
  }
}

export interface EncodedImage {
  readonly data: Buffer;
  readonly format: OutputFormat;
  readonly width: number;
  readonly height: number;
  /** Frames: 1 for a still image. */
  readonly pages: number;
}

/** Runs the pipeline; libvips' complaints about the input become UnprocessableImageError. */
export async function render(image: Sharp, format: OutputFormat): Promise<EncodedImage> {
  try {
    const { data, info } = await image.toBuffer({ resolveWithObject: true });
    // For animations, info.height is the height of all frames stacked.
    return { data, format, width: info.width, height: info.pageHeight ?? info.height, pages: info.pages ?? 1 };
  } catch (error) {
    throw new UnprocessableImageError(`the image could not be decoded: ${(error as Error).message}`, error);
  }
}

