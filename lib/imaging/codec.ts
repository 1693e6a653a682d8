import sharp, {
  type AvifOptions,
  type GifOptions,
  type JpegOptions,
  type Metadata,
  type PngOptions,
  type Sharp,
  type TiffOptions,
  type WebpOptions,
} from 'sharp';
import type { ImageFormat } from '../events/payloads.ts';
import { UnprocessableImageError } from '../errors.ts';
import { canAnimate, type OutputFormat } from './formats.ts';
import { imageLimits } from './limits.ts';
import { DELIVERY_QUALITY } from '@progimage/transform-language';

/**
 * Opens image bytes for processing: animations keep every frame (unless the
 * output cannot animate: then only the first), limits apply, and any decoder
 * warning (a truncated file) is an error rather than grey pixels. `autoOrient`
 * turns an image that is not a master yet upright by its EXIF orientation.
 */
export function openImage(
  bytes: Buffer,
  format: ImageFormat,
  options: { readonly stillOnly?: boolean; readonly autoOrient?: boolean } = {},
): Sharp {
  return sharp(bytes, {
    animated: canAnimate(format) && options.stillOnly !== true,
    autoOrient: options.autoOrient === true,
    limitInputPixels: imageLimits().maxInputPixels,
    failOn: 'warning',
  });
}

/**
 * How to encode, by purpose.
 * - `master`: the source of every derivative, decoded again for each one, so
 *   quick to decode: near-lossless, and a baseline (not progressive) JPEG,
 *   whose decoder can shrink on load (lib/imaging/master.ts, which keeps an
 *   original JPEG's own bytes where it can).
 * - `compact`: the compress stage, in the background: the image served as it
 *   is, made once — visually lossless, and worth a second for fewer bytes
 *   (mozjpeg for JPEG).
 * - `variant`: the presets' variants, built once ahead of any request and
 *   served many times: mozjpeg for JPEG, where its bytes pay.
 * - `just-in-time`: conversions and transformations a client is waiting for:
 *   the same quality, far less CPU — libjpeg-turbo for JPEG (mozjpeg takes 4-9x
 *   the CPU of the encode for 0-7% fewer bytes at equal SSIM), WebP at effort 2
 *   (2-2.5x faster than 4 for 3-4% more bytes), AVIF at effort 1 (AVIF at
 *   effort 4 takes 19 s for an 8 MP photo on 2 cores). A request's `effort`
 *   overrides it: JPEG effort 1 is mozjpeg.
 */
export type EncodingProfile = 'master' | 'compact' | 'variant' | 'just-in-time';

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
    jpeg: { quality: 95, progressive: false },
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
  variant: {
    jpeg: { quality: DELIVERY_QUALITY.jpeg, mozjpeg: true },
    png: { compressionLevel: 9 },
    webp: { quality: DELIVERY_QUALITY.webp, effort: 4 },
    avif: { quality: DELIVERY_QUALITY.avif, effort: 2 },
    gif: { effort: 7 },
    tiff: { compression: 'deflate' },
  },
  'just-in-time': {
    jpeg: { quality: DELIVERY_QUALITY.jpeg },
    png: { compressionLevel: 9 },
    webp: { quality: DELIVERY_QUALITY.webp, effort: 2 },
    avif: { quality: DELIVERY_QUALITY.avif, effort: 1 },
    gif: { effort: 7 },
    tiff: { compression: 'deflate' },
  },
};

/** JPEG `effort`: 0 is libjpeg-turbo, 1 mozjpeg (sharp's `mozjpeg`: trellis quantisation, its table 3, optimised progressive scans). */
const MOZJPEG_EFFORT = 1;

/** Settings a caller may change on top of a profile: the transform language's output options, and a master's chroma. */
export interface EncodingOverrides {
  readonly quality?: number;
  readonly lossless?: boolean;
  readonly progressive?: boolean;
  readonly effort?: number;
  /** Keep what metadata the image still has (an ICC profile); stripped by default. */
  readonly keepMetadata?: boolean;
  /** JPEG only: the chroma resolution (a master keeps its source's: lib/imaging/master.ts). */
  readonly chromaSubsampling?: '4:2:0' | '4:4:4';
}

/** The quality a profile encodes `format` at, when the format has one. */
export function profileQuality(profile: EncodingProfile, format: OutputFormat): number | undefined {
  const options = PROFILES[profile][format];
  return 'quality' in options ? options.quality : undefined;
}

export function encodeAs(image: Sharp, format: OutputFormat, profile: EncodingProfile, overrides: EncodingOverrides = {}): Sharp {
  const options = PROFILES[profile];
  const { quality, lossless, progressive, effort, chromaSubsampling } = overrides;
  const set = <T extends object>(base: T, extra: Record<string, unknown>): T => ({
    ...base,
    ...Object.fromEntries(Object.entries(extra).filter(([, value]) => value !== undefined)),
  });
  const output = overrides.keepMetadata === true ? image.keepMetadata() : image;
  switch (format) {
    case 'jpeg':
      return output.jpeg(
        set(options.jpeg, {
          quality,
          progressive,
          chromaSubsampling,
          mozjpeg: effort === undefined ? undefined : effort >= MOZJPEG_EFFORT,
        }),
      );
    case 'png':
      // A PNG quality means a palette of as few colours as reach it.
      return output.png(set(options.png, { progressive, effort, ...(quality === undefined ? {} : { palette: true, quality }) }));
    case 'webp':
      return output.webp(set(options.webp, { quality, lossless, effort }));
    case 'avif':
      return output.avif(set(options.avif, { quality, lossless, effort }));
    case 'gif':
      return output.gif(set(options.gif, { progressive, effort }));
    case 'tiff':
      return output.tiff(set(options.tiff, { quality }));
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

const undecodable = (error: unknown): UnprocessableImageError =>
  new UnprocessableImageError('unprocessable_image', `the image could not be decoded: ${(error as Error).message}`, {}, error);

/** Runs the pipeline; libvips' complaints about the input become UnprocessableImageError. */
export async function render(image: Sharp, format: OutputFormat): Promise<EncodedImage> {
  try {
    const { data, info } = await image.toBuffer({ resolveWithObject: true });
    // For animations, info.height is the height of all frames stacked.
    return { data, format, width: info.width, height: info.pageHeight ?? info.height, pages: info.pages ?? 1 };
  } catch (error) {
    throw undecodable(error);
  }
}

/** The image's header (no pixel is decoded); one libvips cannot read is an UnprocessableImageError. */
export async function readMetadata(image: Sharp): Promise<Metadata> {
  try {
    return await image.metadata();
  } catch (error) {
    throw undecodable(error);
  }
}

/**
 * Decodes all of an image `width` pixels wide to an eighth of its width, which
 * a JPEG decoder does on load from every coefficient: damaged data fails as
 * in a full decode (UnprocessableImageError), for a fraction of its cost.
 */
export async function assertDecodes(image: Sharp, width: number): Promise<void> {
  try {
    await image
      .resize({ width: Math.max(1, Math.round(width / 8)) })
      .raw()
      .toBuffer();
  } catch (error) {
    throw undecodable(error);
  }
}
