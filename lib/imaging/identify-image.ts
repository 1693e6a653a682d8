import { fileTypeFromBuffer } from 'file-type';
import { imageSize } from 'image-size';
import type { ImageFormat } from '../events/payloads.ts';
import { UnprocessableImageError, UnsupportedMediaError } from '../errors.ts';
import { CONTENT_TYPES, FORMAT_BY_CONTENT_TYPE } from './formats.ts';
import { contradictedClaim, type Claims } from './claimed-format.ts';
import { foreignTrailer, inspectContainer } from './container.ts';
import { imageLimits } from './limits.ts';
import { embeddedRasters } from './svg-rasters.ts';
import { unsafeSvgContent } from './svg-safety.ts';

export interface IdentifiedImage {
  readonly format: ImageFormat;
  readonly contentType: string;
  readonly width: number;
  readonly height: number;
  /**
   * Its size once turned upright by its EXIF orientation, for a JPEG, whose
   * header gives the orientation; a transformation then need not read the
   * header again. Other formats may carry an orientation the header parser does not read.
   */
  readonly uprightSize?: { readonly width: number; readonly height: number };
}

/** EXIF orientations 5–8 turn the image a quarter: its width and height swap. */
const QUARTER_TURNS: ReadonlySet<number> = new Set([5, 6, 7, 8]);

/** SVG is text: after an optional BOM, XML declaration, comments and doctype (with its internal subset), the root must be <svg>. */
const SVG_START =
  /^\uFEFF?\s*(<\?xml[^>]*>\s*)?(<!--[\s\S]*?-->\s*)*(<!DOCTYPE[^[>]*(\[[\s\S]*?\])?\s*>\s*)?(<!--[\s\S]*?-->\s*)*<svg[\s>]/i;

async function sniffFormat(bytes: Buffer): Promise<ImageFormat | null> {
  const detected = await fileTypeFromBuffer(bytes);
  // An SVG with an XML prolog and a DTD is sniffed as XML: it is still judged as SVG (and refused if unsafe).
  if (detected !== undefined && detected.mime !== 'application/xml') return FORMAT_BY_CONTENT_TYPE[detected.mime] ?? null;
  return SVG_START.test(bytes.subarray(0, 4096).toString('utf8')) ? 'svg' : null;
}

/** Width and height from the header alone: nothing is decoded before the virus scan. */
function headerDimensions(bytes: Buffer): { width: number; height: number; orientation: number | undefined } {
  try {
    const { width, height, orientation } = imageSize(bytes);
    if (width > 0 && height > 0) return { width, height, orientation };
  } catch {
    // reported below
  }
  throw new UnprocessableImageError('unreadable_image', 'the image header is corrupt or incomplete: its dimensions cannot be read');
}

/** Refuses what the file's structure shows to be dangerous: SVG reaching outside, other files riding along, too many frames or pixels. */
function assertSafeStructure(bytes: Buffer, format: ImageFormat, width: number, height: number): void {
  if (format === 'svg') {
    assertSafeSvg(bytes.toString('utf8'), width, height);
    return;
  }
  const { end, truncated, frames } = inspectContainer(bytes, format);
  if (truncated) throw new UnprocessableImageError('truncated_image', 'the file ends before its image does: it is incomplete');
  const trailing = end === null ? 0 : foreignTrailer(bytes, format, end);
  if (trailing > 0) {
    throw new UnsupportedMediaError(
      'trailing_data',
      `the file goes on for ${trailing} bytes after its image ends: a file that is also another kind of file is refused`,
      {
        trailingBytes: trailing,
      },
    );
  }
  const { maxFrames } = imageLimits();
  if (frames > maxFrames) {
    throw new UnprocessableImageError('too_many_frames', `the animation has ${frames} frames: at most ${maxFrames}`, { frames, maxFrames });
  }
  assertPixelBudget('the image', width, height, frames);
}

function assertPixelBudget(what: string, width: number, height: number, frames = 1): void {
  const { maxInputPixels } = imageLimits();
  if (width * height * frames <= maxInputPixels) return;
  const frameNote = frames > 1 ? ` in ${frames} frames` : '';
  throw new UnprocessableImageError('too_many_pixels', `${what} is ${width}x${height}${frameNote}: more than ${maxInputPixels} pixels`, {
    width,
    height,
    frames,
    maxPixels: maxInputPixels,
  });
}

/** An SVG is rendered at its declared size, and every raster inlined in it is decoded at its own: each must fit the pixel limit. */
function assertSafeSvg(text: string, width: number, height: number): void {
  const reason = unsafeSvgContent(text);
  if (reason !== null) throw new UnprocessableImageError('unsafe_svg', `the SVG is refused: it contains ${reason}`, { reason });
  assertPixelBudget('the SVG', width, height);
  for (const raster of embeddedRasters(text)) {
    if (raster === null)
      throw new UnprocessableImageError(
        'unreadable_image',
        'an image inlined in the SVG is corrupt or incomplete: it would be drawn as nothing',
      );
    assertPixelBudget('an image inlined in the SVG', raster.width, raster.height);
  }
}

/**
 * What an upload really is, from its bytes, and whether ProgImage takes it:
 * an accepted format that the client's claims (declared type, file name) do
 * not contradict, readable dimensions, a safe structure, and no more pixels
 * than the limit (a pixel bomb is refused from its header).
 */
export async function identifyImage(bytes: Buffer, accepted: readonly ImageFormat[], claims: Claims = {}): Promise<IdentifiedImage> {
  const format = await sniffFormat(bytes);
  if (format === null || !accepted.includes(format)) {
    throw new UnsupportedMediaError('unsupported_media_type', 'the content is not an image in an accepted format', {
      accepted: accepted.map((name) => CONTENT_TYPES[name]),
      ...(format === null ? {} : { detected: CONTENT_TYPES[format] }),
    });
  }
  const contradiction = contradictedClaim(claims, format);
  if (contradiction !== null) {
    throw new UnsupportedMediaError('type_mismatch', `the content is ${CONTENT_TYPES[format]} but it was ${contradiction}`, {
      detected: CONTENT_TYPES[format],
    });
  }
  const { width, height, orientation = 1 } = headerDimensions(bytes);
  assertSafeStructure(bytes, format, width, height);
  const identified = { format, contentType: CONTENT_TYPES[format], width, height };
  if (format !== 'jpeg') return identified;
  return { ...identified, uprightSize: QUARTER_TURNS.has(orientation) ? { width: height, height: width } : { width, height } };
}
