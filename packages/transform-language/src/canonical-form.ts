import type { ParsedOptions } from './option-values.ts';
import type { OutputFormat } from './transform-options.ts';

/**
 * A transformation in canonical form: aliases resolved and values in their
 * one form (option-values.ts), device pixel ratio folded into the size,
 * defaults and no-op values dropped, options that cannot matter removed, and
 * the output format always named. Two requests that mean the same work have
 * equal canonical forms: the server keys its stored results by it, and the
 * client writes image URLs from it.
 */
export type CanonicalForm = Omit<ParsedOptions, 'dpr' | 'format'> & { readonly format: OutputFormat };

/** The quality each format is encoded at when a request names none (the just-in-time and variant profiles of lib/imaging/codec.ts). */
export const DELIVERY_QUALITY = { jpeg: 82, webp: 80, avif: 55 } as const satisfies Partial<Record<OutputFormat, number>>;
const deliveryQuality: Partial<Record<OutputFormat, number>> = DELIVERY_QUALITY;

/** Output formats without an alpha channel: what a mask cuts away shows the background (white unless set), as `flatten` does. */
const OPAQUE_FORMATS: ReadonlySet<OutputFormat> = new Set(['jpeg']);

const DEFAULT_TRIM_THRESHOLD = 10;
const DEFAULT_SHARPEN_SIGMA = 1;
export const DEFAULT_CORNER_RADIUS = 16;

/** How text is drawn where its options do not say. */
export const TEXT_DEFAULTS = {
  text_font: 'sans',
  text_size: 32,
  text_color: '#000000ff',
  text_gravity: 'southeast',
  text_opacity: 1,
} as const satisfies ParsedOptions;

const DEFAULTS: Readonly<Record<string, unknown>> = {
  gravity: 'centre',
  rotate: 0,
  brightness: 1,
  saturation: 1,
  hue: 0,
  gamma: undefined,
  overlay_gravity: 'southeast',
  overlay_x: 0,
  overlay_y: 0,
  overlay_opacity: 1,
  ...TEXT_DEFAULTS,
  metadata: 'strip',
};

/** Drops the entries whose value is undefined, false, or equal to the option's default. */
function withoutDefaults(options: Record<string, unknown>, defaults: Readonly<Record<string, unknown>>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(options).filter(([name, value]) => value !== undefined && value !== false && value !== defaults[name]),
  );
}

/**
 * The canonical form of `options` for output in `format`, for options the
 * server accepts (no combinationProblem or formatProblem).
 */
export function canonicalForm(options: ParsedOptions, format: OutputFormat): CanonicalForm {
  // dpr=auto is the browser's ratio: the server reads its client hints into a number first, and it is 1 without them.
  const { dpr: given = 1, ...rest } = options;
  const dpr = given === 'auto' ? 1 : given;
  const result: Record<string, unknown> = { ...rest, format };
  if (options.quality === deliveryQuality[format]) result.quality = undefined;

  const scale = (side: number | undefined) => (side === undefined ? undefined : Math.round(side * dpr));
  result.width = scale(options.width);
  result.height = scale(options.height);
  const resizing = options.width !== undefined || options.height !== undefined;
  const bothSides = options.width !== undefined && options.height !== undefined;
  // With one side given, every fit keeps the aspect ratio: fit and crop gravity cannot matter.
  result.fit = bothSides ? (options.fit ?? 'cover') : undefined;
  if (result.fit === 'cover') result.fit = undefined;
  if (!bothSides || (options.fit !== undefined && options.fit !== 'cover' && options.fit !== 'contain')) result.gravity = undefined;
  if (!resizing) result.enlarge = undefined;

  if (options.rotate !== undefined) result.rotate = ((options.rotate % 360) + 360) % 360;
  if (options.trim === true) result.trim = DEFAULT_TRIM_THRESHOLD;
  if (options.sharpen === true) result.sharpen = DEFAULT_SHARPEN_SIGMA;
  if (options.extend !== undefined && Object.values(options.extend).every((side) => side === 0)) result.extend = undefined;
  if (options.mask !== undefined && 'shape' in options.mask && options.mask.shape === 'rounded') {
    result.radius = options.radius ?? DEFAULT_CORNER_RADIUS;
  }
  if (options.mask !== undefined && OPAQUE_FORMATS.has(format)) result.flatten = true;
  if (options.overlay_tile === true) {
    result.overlay_gravity = undefined;
    result.overlay_x = undefined;
    result.overlay_y = undefined;
  }
  const rotatesOffAxis = typeof result.rotate === 'number' && result.rotate % 90 !== 0;
  const usesBackground = rotatesOffAxis || result.extend !== undefined || result.flatten === true || result.fit === 'contain';
  if (!usesBackground) result.background = undefined;
  return withoutDefaults(result, DEFAULTS) as CanonicalForm;
}
