import type { OutputFormat } from '../events/payloads.ts';
import { TooCostlyError } from '../errors.ts';
import { isPlainConversion, type CanonicalTransform } from './canonical.ts';
import { assertOutputBounds, plannedSize, type Size } from './planned-size.ts';

/*
 * What a transformation will cost, estimated from its source size and its
 * canonical form before any pixel is touched: milliseconds of one CPU core,
 * and the memory it holds at its peak. The figures per megapixel were measured with sharp 0.35 on a
 * 2725x2225 photo on one core of the reference machine (docs/RELIABILITY.md,
 * "Cost of a transformation"); they are meant to tell a thumbnail from a
 * 100-megapixel blur, not to predict to the millisecond.
 */

const MEGAPIXEL = 1_000_000;

/** Decoding the source in full (shrink-on-load only makes it cheaper). */
const DECODE_MS_PER_MP = 10;

/** Encoding at the just-in-time profile's effort (lib/imaging/codec.ts), per output megapixel. */
const ENCODE_MS_PER_MP: Record<OutputFormat, number> = { jpeg: 12, png: 45, webp: 60, avif: 190, gif: 1100, tiff: 8 };

/** The profile's own effort, and how much each step of `effort` above it multiplies the encode. */
const EFFORT_SCALING: Partial<Record<OutputFormat, { readonly base: number; readonly factor: number }>> = {
  jpeg: { base: 0, factor: 2.5 },
  webp: { base: 2, factor: 1.5 },
  avif: { base: 1, factor: 2.7 },
  png: { base: 6, factor: 1.3 },
};

function encodeCost(format: OutputFormat, effort: number | undefined): number {
  const scaling = EFFORT_SCALING[format];
  const steps = effort === undefined || scaling === undefined ? 0 : effort - scaling.base;
  return ENCODE_MS_PER_MP[format] * (scaling === undefined ? 1 : scaling.factor ** steps);
}

/** The filters, per output megapixel: blur grows with its sigma, median with its window's area. */
function filterCost(t: CanonicalTransform): number {
  let cost = 0;
  if (t.blur !== undefined) cost += 20 + 2.6 * t.blur;
  if (typeof t.sharpen === 'number') cost += 50 * t.sharpen;
  if (t.median !== undefined) cost += 0.9 * t.median * t.median;
  if (t.rotate !== undefined && t.rotate % 90 !== 0) cost += 55;
  const compositing = [t.mask, t.overlay, t.text].filter((step) => step !== undefined).length;
  return cost + 10 * compositing;
}

/**
 * Bytes held per pixel. libvips streams a plain conversion: what it holds is
 * the encoder's, per output pixel, measured from decode to encoded bytes
 * (AVIF's is 34 bytes a pixel: 800 MB for 24 megapixels; a JPEG of 100
 * megapixels held 585 MB in the catalog process). A transformation may also
 * hold its image whole, decoded (RGBA, a byte a channel) at the larger of
 * the source's and the output's size.
 */
const DECODED_BYTES_PER_PIXEL = 4;
const ENCODE_BYTES_PER_PIXEL: Record<OutputFormat, number> = { jpeg: 7, png: 5, webp: 6, avif: 34, gif: 12, tiff: 3 };

export interface TransformEstimate {
  /** Milliseconds of one CPU core. */
  readonly cpuMs: number;
  /** Bytes held at the peak. */
  readonly memoryBytes: number;
}

/**
 * What `transform` will cost on a source of `source` size.
 * @throws InvalidRequestError (output_too_large) when its output would be past the bounds
 */
export function estimateTransform(source: Size, transform: CanonicalTransform): TransformEstimate {
  const output = plannedSize(source, transform);
  // An output past the bounds is refused as such (output_too_large), not weighed.
  assertOutputBounds(output);
  const sourcePixels = source.width * source.height;
  const outputPixels = output.width * output.height;
  return {
    cpuMs: Math.ceil(
      (sourcePixels * DECODE_MS_PER_MP + outputPixels * (encodeCost(transform.format, transform.effort) + filterCost(transform))) /
        MEGAPIXEL,
    ),
    memoryBytes:
      (isPlainConversion(transform) ? 0 : Math.max(sourcePixels, outputPixels) * DECODED_BYTES_PER_PIXEL) +
      outputPixels * ENCODE_BYTES_PER_PIXEL[transform.format],
  };
}

export interface TransformBudget {
  readonly maxCpuMs: number;
  readonly maxMemoryBytes: number;
}

const MEGABYTE = 1024 * 1024;

/** @throws TooCostlyError (too_costly) when the estimate is over the budget, naming both */
export function assertAffordable(estimate: TransformEstimate, budget: TransformBudget): void {
  const advice = 'ask for a smaller output (w, h), another format, a lighter filter or a lower effort';
  if (estimate.cpuMs > budget.maxCpuMs) {
    throw new TooCostlyError(
      `the transformation would take about ${estimate.cpuMs} ms of CPU: at most ${budget.maxCpuMs} are allowed; ${advice}`,
      {
        estimatedCostMs: estimate.cpuMs,
        maxCostMs: budget.maxCpuMs,
      },
    );
  }
  if (estimate.memoryBytes > budget.maxMemoryBytes) {
    const [needed, allowed] = [estimate.memoryBytes, budget.maxMemoryBytes].map((bytes) => Math.ceil(bytes / MEGABYTE));
    throw new TooCostlyError(`the transformation would need about ${needed} MB of memory: at most ${allowed} MB are allowed; ${advice}`, {
      estimatedMemoryMb: needed,
      maxMemoryMb: allowed,
    });
  }
}
