import type { IncomingHttpHeaders } from 'node:http';
import type { OutputFormat } from '../lib/events/payloads.ts';
import { ACCEPT_CH, clientHintHeaders, readClientHints, withClientHints } from '../lib/http/client-hints.ts';
import { negotiateFormat } from '../lib/http/negotiate-format.ts';
import type { Negotiation } from '../lib/http/response-cache.ts';
import { openImage, readMetadata } from '../lib/imaging/codec.ts';
import { fitsFormat } from '../lib/imaging/format-limits.ts';
import type { BlobStore } from '../lib/ports/blob-store.ts';
import { canonicalise, formatTakes, stableJson } from '../lib/transform/canonical.ts';
import type { TransformOptions } from '../lib/transform/options.ts';
import { plannedSize } from '../lib/transform/planned-size.ts';
import type { Servable } from './image-access.ts';

/** The extension of an image URL whose format the request's Accept header chooses. */
export const AUTO_EXTENSION = 'auto';

/** What an image URL asks for: a format, or `auto`; and options, which may leave the pixel ratio to the browser (dpr=auto). */
export interface AskedFor {
  readonly format: OutputFormat | typeof AUTO_EXTENSION;
  readonly options: TransformOptions;
}

/** What the request's headers make of it. */
export interface HeaderChoice {
  /** null: `auto` found no better format acceptable, so the image goes in its own (ownFormat). */
  readonly format: OutputFormat | null;
  /** dpr=auto made the browser's ratio or width (client hints). */
  readonly options: TransformOptions;
}

/** Better than any image's own format, best first. */
const BETTER_FORMATS: readonly OutputFormat[] = ['avif', 'webp'];

/**
 * The formats `image` may be sent in instead of its own, best first: AVIF,
 * then WebP; an animation in WebP only (sharp writes AVIF as a still). Each
 * only when it takes the options and can hold the output (WebP stops at
 * 16383 pixels a side): the next acceptable one is sent instead.
 */
function betterFormats(image: Servable, options: TransformOptions): OutputFormat[] {
  return BETTER_FORMATS.filter(
    (format) =>
      !(format === 'avif' && image.master.pages > 1) &&
      formatTakes(format, options) &&
      fitsFormat(plannedSize(image.master, canonicalise(options, format)), format),
  );
}

/** The format and options a request with `headers` gets for what the URL asks of `image`. */
export function chooseByHeaders(image: Servable, { format, options }: AskedFor, headers: IncomingHttpHeaders): HeaderChoice {
  const resolved = withClientHints(options, readClientHints(headers));
  return {
    format: format === AUTO_EXTENSION ? negotiateFormat(headers.accept, betterFormats(image, resolved)) : format,
    options: resolved,
  };
}

/**
 * How the answers to what the URL asks vary by request headers (null when
 * they do not): the Vary and Accept-CH they carry, and the variant of each
 * request, so that a cache never gives one client what another's headers
 * chose (an AVIF to a browser that did not accept it).
 */
export function negotiationOf(image: Servable, asked: AskedFor, chosen: HeaderChoice): Negotiation | null {
  const hinted = asked.options.dpr === 'auto';
  const vary = [...(asked.format === AUTO_EXTENSION ? ['Accept'] : []), ...(hinted ? clientHintHeaders(asked.options) : [])];
  if (vary.length === 0) return null;
  return {
    variant: stableJson(chosen),
    variantOf: (headers) => stableJson(chooseByHeaders(image, asked, headers)),
    headers: { Vary: vary.join(', '), ...(hinted ? { 'Accept-CH': ACCEPT_CH } : {}) },
  };
}

/** Formats every browser shows. */
const UNIVERSAL_FORMATS: readonly OutputFormat[] = ['jpeg', 'png', 'gif'];

/**
 * The format `image` goes in when no better one is acceptable: its own when
 * every browser shows it (JPEG, PNG, GIF); otherwise (a WebP, AVIF or TIFF
 * master) GIF for an animation, PNG for an image with alpha, JPEG for an
 * opaque one, as Cloudinary's f_auto falls back.
 */
export async function ownFormat(image: Servable, blobs: BlobStore): Promise<OutputFormat> {
  const { format, pages, key } = image.master;
  if (UNIVERSAL_FORMATS.includes(format)) return format;
  if (pages > 1) return 'gif';
  const { hasAlpha } = await readMetadata(openImage(await blobs.get(key), format));
  return hasAlpha ? 'png' : 'jpeg';
}
