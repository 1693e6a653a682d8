import { CONTENT_TYPES, type OutputFormat } from '../imaging/formats.ts';

/** A weight as RFC 9110 §12.4.2 writes it: 0 to 1, at most three decimals. */
const WEIGHT = /^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/;

/**
 * The weight an Accept header gives each media type it names exactly
 * (`image/avif`, not `image/*`), in lower case; a range named twice keeps
 * its highest weight. A range whose weight is malformed is left out.
 */
function namedWeights(accept: string): ReadonlyMap<string, number> {
  const weights = new Map<string, number>();
  for (const range of accept.split(',')) {
    const [type = '', ...parameters] = range.split(';').map((part) => part.trim().toLowerCase());
    if (!/^[^/*\s]+\/[^/*\s]+$/.test(type)) continue;
    let weight = 1;
    for (const parameter of parameters) {
      const [name = '', value = ''] = parameter.split('=', 2).map((part) => part.trim());
      if (name === 'q') weight = WEIGHT.test(value) ? Number(value) : Number.NaN;
    }
    if (!Number.isNaN(weight)) weights.set(type, Math.max(weight, weights.get(type) ?? 0));
  }
  return weights;
}

/**
 * Which of `offers` (formats an image can be made in besides its own, in the
 * server's order of preference, e.g. AVIF then WebP) to send for a request's
 * Accept header; null for the image's own format.
 *
 * An offer is acceptable only when the header names its type exactly with a
 * weight above 0 (`image/avif;q=0` refuses AVIF): browsers that decode AVIF or
 * WebP say so by name, while `*` and `image/*` come from clients of every
 * age, so `*` alone gets the image's own format, as imgproxy's AVIF/WebP
 * detection and Cloudinary's f_auto choose. Of the acceptable offers the
 * heaviest wins, then the first. The own format is never refused: it is what
 * an image is sent in when no offer is acceptable (an image rather than 406).
 */
export function negotiateFormat(accept: string | undefined, offers: readonly OutputFormat[]): OutputFormat | null {
  const weights = namedWeights(accept ?? '');
  let chosen: OutputFormat | null = null;
  let heaviest = 0;
  for (const offer of offers) {
    const weight = weights.get(CONTENT_TYPES[offer]) ?? 0;
    if (weight > heaviest) {
      chosen = offer;
      heaviest = weight;
    }
  }
  return chosen;
}
