import type { ImageFormat, OutputFormat } from '../events/payloads.ts';

export type { OutputFormat };

export const CONTENT_TYPES: Readonly<Record<ImageFormat, string>> = {
  jpeg: 'image/jpeg',
  png: 'image/png',
  webp: 'image/webp',
  gif: 'image/gif',
  avif: 'image/avif',
  heif: 'image/heif',
  tiff: 'image/tiff',
  svg: 'image/svg+xml',
};

/** The extension ProgImage writes for each output format. */
export const EXTENSIONS: Readonly<Record<OutputFormat, string>> = {
  jpeg: 'jpg',
  png: 'png',
  webp: 'webp',
  avif: 'avif',
  gif: 'gif',
  tiff: 'tiff',
};

/** Every extension a URL may carry, and the format it asks for. */
const FORMAT_BY_EXTENSION: Readonly<Record<string, OutputFormat>> = {
  jpg: 'jpeg',
  jpeg: 'jpeg',
  png: 'png',
  webp: 'webp',
  avif: 'avif',
  gif: 'gif',
  tif: 'tiff',
  tiff: 'tiff',
};

export const SUPPORTED_EXTENSIONS: readonly string[] = Object.keys(FORMAT_BY_EXTENSION);

export function formatForExtension(extension: string): OutputFormat | null {
  return FORMAT_BY_EXTENSION[extension.toLowerCase()] ?? null;
}

/** The extension ProgImage writes for a content type it serves (image/jpeg → jpg); null for any other type. */
export function extensionForContentType(contentType: string): string | null {
  const format = FORMAT_BY_CONTENT_TYPE[contentType];
  const extensions: Readonly<Record<string, string>> = EXTENSIONS;
  return format === undefined ? null : (extensions[format] ?? null);
}

/** The master keeps the source's format where ProgImage can write it. */
export function masterFormat(source: ImageFormat): OutputFormat {
  if (source === 'svg') return 'png';
  if (source === 'heif') return 'avif';
  return source;
}

/** Formats whose files can hold an animation that must survive processing. */
export const canAnimate = (format: ImageFormat): boolean => format === 'gif' || format === 'webp';

/** Image formats by the content types that name them, standard and common spellings. */
export const FORMAT_BY_CONTENT_TYPE: Readonly<Record<string, ImageFormat>> = {
  'image/jpeg': 'jpeg',
  'image/jpg': 'jpeg',
  'image/pjpeg': 'jpeg',
  'image/png': 'png',
  'image/webp': 'webp',
  'image/gif': 'gif',
  'image/avif': 'avif',
  'image/heic': 'heif',
  'image/heif': 'heif',
  'image/tiff': 'tiff',
  'image/svg+xml': 'svg',
};
