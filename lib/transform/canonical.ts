import { createHash } from 'node:crypto';
import { blobKeys } from '../blob-keys.ts';
import type { ImageId, Tenant } from '../ids.ts';
import type { OutputFormat } from '../events/payloads.ts';
import { TransformOptionError } from './errors.ts';
import { profileQuality } from '../imaging/codec.ts';
import type { OptionName, TransformOptions } from './options.ts';

/**
 * A transformation in canonical form: aliases resolved (by parseOptions),
 * device pixel ratio folded into the size, defaults and no-op values dropped,
 * options that cannot matter removed, and the output format always named.
 * Two requests that mean the same work have equal canonical forms.
 */
export type CanonicalTransform = Omit<TransformOptions, 'dpr' | 'format'> & { readonly format: OutputFormat };

const DEFAULT_TRIM_THRESHOLD = 10;
const DEFAULT_SHARPEN_SIGMA = 1;
export const DEFAULT_CORNER_RADIUS = 16;

/** Drops the entries whose value is undefined, false, or equal to the option's default. */
function withoutDefaults(options: Record<string, unknown>, defaults: Readonly<Record<string, unknown>>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(options).filter(([name, value]) => value !== undefined && value !== false && value !== defaults[name]),
  );
}

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
  metadata: 'strip',
};

/** Which output options each encoder takes, and the effort range it accepts. */
const ENCODER_OPTIONS: Readonly<Record<OutputFormat, { readonly takes: readonly OptionName[]; readonly effort?: readonly [number, number] }>> = {
  jpeg: { takes: ['quality', 'progressive'] },
  png: { takes: ['quality', 'progressive', 'effort'], effort: [1, 10] },
  webp: { takes: ['quality', 'lossless', 'effort'], effort: [0, 6] },
  avif: { takes: ['quality', 'lossless', 'effort'], effort: [0, 9] },
  gif: { takes: ['progressive', 'effort'], effort: [1, 10] },
  tiff: { takes: ['quality'] },
};

function checkEncoderOptions(options: TransformOptions, format: OutputFormat): void {
  const encoder = ENCODER_OPTIONS[format];
  for (const name of ['quality', 'lossless', 'progressive', 'effort'] as const) {
    if (options[name] !== undefined && options[name] !== false && !encoder.takes.includes(name)) {
      throw new TransformOptionError(name, `does not apply to ${format} output`, options[name]);
    }
  }
  const [low, high] = encoder.effort ?? [0, 0];
  if (options.effort !== undefined && (options.effort < low || options.effort > high)) {
    throw new TransformOptionError('effort', `expected from ${low} to ${high} for ${format}`, options.effort);
  }
}

/**
 * The canonical form of `options` for output in `format` (from the URL's
 * extension or the options; they must agree when both are given).
 */
export function canonicalise(options: TransformOptions, format: OutputFormat): CanonicalTransform {
  if (options.format !== undefined && options.format !== format) {
    throw new TransformOptionError('format', `asks for ${options.format} but the request asks for ${format}`, options.format);
  }
  checkEncoderOptions(options, format);
  const { dpr = 1, ...rest } = options;
  const result: Record<string, unknown> = { ...rest, format };
  if (options.quality === profileQuality('delivery', format)) result.quality = undefined;

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
  if (options.overlay_tile === true) {
    result.overlay_gravity = undefined;
    result.overlay_x = undefined;
    result.overlay_y = undefined;
  }
  const rotatesOffAxis = typeof result.rotate === 'number' && result.rotate % 90 !== 0;
  const usesBackground = rotatesOffAxis || result.extend !== undefined || result.flatten === true || result.fit === 'contain';
  if (!usesBackground) result.background = undefined;
  return withoutDefaults(result, DEFAULTS) as CanonicalTransform;
}

/** JSON with keys sorted at every level: one text per canonical form. */
export function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([name, item]) => `${JSON.stringify(name)}:${stableJson(item)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** The cache key of a transformation of one source: a hash of the source's identity and the canonical form. */
export function transformHash(sourceIdentity: string, transform: CanonicalTransform): string {
  return createHash('sha256').update(sourceIdentity).update('\n').update(stableJson(transform)).digest('hex').slice(0, 32);
}

/**
 * Where a stored image's transformation is kept: GET /v1/images/ID.EXT?…
 * and batches put the same work under the same key. An image's master never
 * changes once made, so the image's identity is its tenant and id.
 */
export function storedTransformKey(subject: { readonly tenant: Tenant; readonly imageId: ImageId }, transform: CanonicalTransform): string {
  return blobKeys.transformed(subject, transformHash(`${subject.tenant}/${subject.imageId}`, transform), transform.format);
}

/** Whether the transformation does anything beyond encoding in its format with the default settings. */
export const isPlainConversion = (transform: CanonicalTransform): boolean => Object.keys(transform).length === 1;
