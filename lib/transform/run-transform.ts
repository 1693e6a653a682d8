import sharp, { type Sharp } from 'sharp';
import type { ImageFormat } from '../events/payloads.ts';
import { DeadlineExceededError, DomainError, UnprocessableImageError } from '../errors.ts';
import { encodeAs, openImage, profileQuality, type EncodedImage, type EncodingProfile } from '../imaging/codec.ts';
import { canAnimate } from '../imaging/formats.ts';
import { stableJson, type CanonicalTransform } from './canonical.ts';
import { assertFitsFormat, assertOutputBounds, plannedSize, type Size } from './planned-size.ts';
import { filterSteps, flattenSteps } from './steps/filters.ts';
import { geometrySteps } from './steps/geometry.ts';
import { maskSteps } from './steps/mask.ts';
import { overlaySteps } from './steps/overlay.ts';
import { textSteps } from './steps/text.ts';
import type { Step, StepName, TransformResources } from './steps/step.ts';

export interface TransformSource {
  readonly bytes: Buffer;
  readonly format: ImageFormat;
  /** A master is upright already; request data is turned upright by its EXIF orientation first. */
  readonly upright: boolean;
  /** Its upright size (a frame's, for an animation) when known, as a stored master's is: its header is not read again. */
  readonly size?: Size;
}

export interface RunTransformOptions {
  readonly resources: TransformResources;
  /** Epoch milliseconds by which the work must be done. */
  readonly deadline: number;
  /** What the output is for: `just-in-time` (the default) while a client waits, `variant` for presets built ahead of requests. */
  readonly purpose?: Extract<EncodingProfile, 'just-in-time' | 'variant'>;
}

const profileOf = (options: RunTransformOptions): EncodingProfile => options.purpose ?? 'just-in-time';

/** The lowest quality a maximum output size may push a lossy encoder to. */
const MIN_QUALITY = 10;
const LOSSY = new Set(['jpeg', 'webp', 'avif', 'tiff']);

/** The steps of a transformation, in the language's fixed order. */
export const stepsOf = (t: CanonicalTransform): Step[] => [
  ...geometrySteps(t),
  ...filterSteps(t),
  ...maskSteps(t),
  ...overlaySteps(t),
  ...textSteps(t),
  ...flattenSteps(t),
];

const pastDeadline = (cause?: unknown): DeadlineExceededError =>
  new DeadlineExceededError('the transformation did not finish within its deadline', cause);

/** How libvips says that sharp's `timeout()` stopped a pipeline: `timeout: 40% complete`. */
const isSharpTimeout = (error: unknown): boolean =>
  error instanceof Error && !(error instanceof DomainError) && /^timeout: \d+% complete/m.test(error.message);

/**
 * What a failed transformation is: an error that says what went wrong
 * already (an option refused, an output too large, a dependency down while a
 * mask or overlay loads: retriable) stays itself; sharp stopped by the
 * deadline is DeadlineExceededError (retriable); anything else libvips
 * says is about the image (422 unprocessable_image, not retriable).
 */
function failure(error: unknown): DomainError {
  if (error instanceof DomainError) return error;
  if (isSharpTimeout(error)) return pastDeadline(error);
  const message = error instanceof Error ? error.message : String(error);
  return new UnprocessableImageError('unprocessable_image', `the image could not be transformed: ${message}`, {}, error);
}

function checkDeadline(deadline: number): number {
  const left = deadline - Date.now();
  if (left <= 0) throw pastDeadline();
  return left;
}

/**
 * Gives the image to encode, once per encode. Pixels rendered already are
 * opened anew each time, sharing their buffer; sharp's clone() would copy its
 * input (structuredClone) for every encode.
 */
type Reopen = () => Sharp;

/** Renders the pipeline so far to pixels, and how to start new pipelines from them. */
async function materialise(image: Sharp, deadline: number): Promise<{ reopen: Reopen; size: Size }> {
  const { data, info } = await image
    .timeout({ seconds: Math.ceil(checkDeadline(deadline) / 1000) })
    .raw()
    .toBuffer({ resolveWithObject: true });
  const size = { width: info.width, height: info.height };
  if (info.hasAlpha && (info.channels === 1 || info.channels === 3)) {
    // sharp's raw output of a grey image is its first band alone, without the alpha: PNG keeps it.
    const png = await image
      .timeout({ seconds: Math.ceil(checkDeadline(deadline) / 1000) })
      .png({ compressionLevel: 0 })
      .toBuffer();
    return { reopen: () => sharp(png), size };
  }
  const raw = { width: info.width, height: info.height, channels: info.channels };
  return { reopen: () => sharp(data, { raw }), size };
}

async function encode(image: Sharp, t: CanonicalTransform, options: RunTransformOptions, quality?: number): Promise<EncodedImage> {
  const overrides = {
    ...(quality === undefined ? {} : { quality }),
    ...(t.lossless === undefined ? {} : { lossless: t.lossless }),
    ...(t.progressive === undefined ? {} : { progressive: t.progressive }),
    ...(t.effort === undefined ? {} : { effort: t.effort }),
    keepMetadata: t.metadata === 'keep',
  };
  const { data, info } = await encodeAs(image, t.format, profileOf(options), overrides)
    .timeout({ seconds: Math.ceil(checkDeadline(options.deadline) / 1000) })
    .toBuffer({ resolveWithObject: true });
  return { data, format: t.format, width: info.width, height: info.pageHeight ?? info.height, pages: info.pages ?? 1 };
}

/**
 * Encodes within `max_bytes`: lossy formats step their quality down (a
 * binary search, a handful of encodes) until the output fits; when even the
 * lowest quality does not, or the format is lossless, 422.
 */
async function encodeWithin(reopen: Reopen, t: CanonicalTransform, options: RunTransformOptions): Promise<EncodedImage> {
  const max = t.max_bytes;
  const first = await encode(reopen(), t, options, t.quality);
  if (max === undefined || first.data.length <= max) return first;
  const tooLarge = () =>
    new UnprocessableImageError('output_too_large', `the output cannot be made ${max} bytes or smaller in ${t.format}`, {
      maxBytes: max,
      smallest: first.data.length,
    });
  if (!LOSSY.has(t.format) || t.lossless === true) throw tooLarge();
  let best: EncodedImage | null = null;
  let low = MIN_QUALITY;
  let high = (t.quality ?? profileQuality(profileOf(options), t.format) ?? 80) - 1;
  while (low <= high) {
    const quality = Math.floor((low + high) / 2);
    const attempt = await encode(reopen(), t, options, quality);
    if (attempt.data.length <= max) {
      best = attempt;
      low = quality + 1;
    } else {
      high = quality - 1;
    }
  }
  if (best === null) throw tooLarge();
  return best;
}

interface Prepared {
  readonly image: Sharp;
  readonly animate: boolean;
  /** Steps applied in `image`'s pipeline that have not been rendered yet. */
  readonly pending: number;
}

/** The image's upright size (a frame's, for an animation), from its header. */
async function uprightSize(image: Sharp, upright: boolean): Promise<Size> {
  const meta = await image.metadata();
  const oriented = upright ? meta : meta.autoOrient;
  return { width: oriented.width, height: meta.pageHeight ?? oriented.height };
}

/** Opens the image, checks the output bounds, and applies every step: what is left is encoding. */
async function prepare(source: TransformSource, t: CanonicalTransform, options: RunTransformOptions): Promise<Prepared> {
  const steps = stepsOf(t);
  const animate = canAnimate(source.format) && canAnimate(t.format) && steps.every((step) => step.name === 'resize');
  let image = openImage(source.bytes, source.format, { stillOnly: !animate, autoOrient: !source.upright });
  let size = source.size ?? (await uprightSize(image, source.upright));
  const planned = plannedSize(size, t);
  assertOutputBounds(planned);
  assertFitsFormat(planned, t.format);
  let inPipeline: StepName[] = [];
  for (const step of steps) {
    const joinable = inPipeline.every((name) => step.joins.includes(name));
    if (inPipeline.length > 0 && (step.needsSize === true || !joinable)) {
      const rendered = await materialise(image, options.deadline);
      image = rendered.reopen();
      size = rendered.size;
      inPipeline = [];
    }
    image = await step.apply(image, { transform: t, resources: options.resources, ...size });
    inPipeline.push(step.name);
  }
  return { image, animate, pending: inPipeline.length };
}

/**
 * Applies a canonical transformation to an image: its steps in the fixed
 * order, as few sharp pipelines as sharp's own operation order allows, the
 * deadline checked between pipelines and enforced inside each; then encoded.
 * Animations stay animated when the output format can animate and the only
 * operation is a resize; otherwise the first frame is used.
 */
export async function runTransform(source: TransformSource, t: CanonicalTransform, options: RunTransformOptions): Promise<EncodedImage> {
  try {
    const prepared = await prepare(source, t, options);
    // Rendered once for the encodes max_bytes may take; not an animation, whose frames raw pixels would lose.
    const renderFirst = t.max_bytes !== undefined && prepared.pending > 0 && !prepared.animate;
    const { image } = prepared;
    // Not rendered: an animation with max_bytes, whose pipeline each attempt copies (only then is there more than one).
    const reopen = renderFirst
      ? (await materialise(image, options.deadline)).reopen
      : t.max_bytes === undefined
        ? () => image
        : () => image.clone();
    return await encodeWithin(reopen, t, options);
  } catch (error) {
    throw failure(error);
  }
}

/** The options of a canonical form only the encoder reads: forms equal but for these take the same steps. */
const ENCODER_OPTIONS: ReadonlySet<string> = new Set(['format', 'quality', 'lossless', 'progressive', 'effort', 'metadata', 'max_bytes']);

const stepsKey = (t: CanonicalTransform): string =>
  stableJson(Object.fromEntries(Object.entries(t).filter(([name]) => !ENCODER_OPTIONS.has(name))));

/** `transforms` in groups whose steps are the same. */
function bySteps(transforms: readonly CanonicalTransform[]): CanonicalTransform[][] {
  const groups = new Map<string, CanonicalTransform[]>();
  for (const t of transforms) {
    const key = stepsKey(t);
    groups.set(key, [...(groups.get(key) ?? []), t]);
  }
  return [...groups.values()];
}

/** Transforms with the same steps in several formats: a still image is transformed once and its pixels encoded in each. */
async function runSameSteps(
  source: TransformSource,
  transforms: readonly CanonicalTransform[],
  options: RunTransformOptions,
): Promise<EncodedImage[]> {
  const [first] = transforms;
  if (first === undefined) return [];
  if (transforms.length === 1 || (canAnimate(source.format) && transforms.some((t) => canAnimate(t.format)))) {
    const outputs: EncodedImage[] = [];
    for (const t of transforms) outputs.push(await runTransform(source, t, options));
    return outputs;
  }
  try {
    const { reopen, size } = await materialise((await prepare(source, first, options)).image, options.deadline);
    for (const t of transforms) assertFitsFormat(size, t.format);
    const outputs: EncodedImage[] = [];
    for (const t of transforms) outputs.push(await encodeWithin(reopen, t, options));
    return outputs;
  } catch (error) {
    throw failure(error);
  }
}

/**
 * One transformation in several outputs: `transforms` are the canonical forms
 * of the same options for different formats. Their steps are the same but
 * where a format changes them (a mask into a format without alpha is
 * flattened), and forms with the same steps share the work: a still image is
 * decoded and transformed once and its pixels encoded in each format (what
 * the variants stage does for every preset); an animation takes the steps
 * again per format, since raw pixels would lose its frames. The outputs come
 * grouped that way.
 */
export async function runTransformInFormats(
  source: TransformSource,
  transforms: readonly CanonicalTransform[],
  options: RunTransformOptions,
): Promise<EncodedImage[]> {
  const outputs: EncodedImage[] = [];
  for (const group of bySteps(transforms)) outputs.push(...(await runSameSteps(source, group, options)));
  return outputs;
}
