import type { ImageFormat } from '../lib/events/payloads.ts';
import { encodeAs, openImage, render } from '../lib/imaging/codec.ts';
import { makeMaster } from '../lib/imaging/master.ts';
import { DEFAULT_PRESETS, parsePresets } from '@progimage/transform-language/schema';
import { makeVariants } from '../lib/transform/variants.ts';

/** Wall time of each stage's pixel work for one image, in milliseconds. */
export interface StageWorkTimes {
  readonly strip: number;
  readonly compress: number;
  readonly variants: number;
}

export interface StageWorkResult {
  readonly times: StageWorkTimes;
  /** `name/format` of every variant made, to check that the pipeline made the same ones. */
  readonly variants: readonly string[];
}

/**
 * The pixel work the strip, compress and variants processors do for one
 * upload, with the same lib/imaging calls and presets, and nothing else: no
 * bus, no blob store, no HTTP, no catalog. Keep it in step with
 * processors/{strip,compress,variants}/*-stage.ts; the benchmark compares the
 * variants it makes with the pipeline's and says so when they differ.
 */
/** As generous as the service's default deadline. */
const VARIANT_TIMEOUT_MS = 30_000;

export async function doStageWork(original: Buffer, format: ImageFormat): Promise<StageWorkResult> {
  const started = performance.now();

  // strip: orientation applied, sRGB, no metadata: the master.
  const master = await makeMaster(original, format);
  const outputFormat = master.format;
  const stripped = performance.now();

  // compress: the master re-encoded with the compact profile, kept only when smaller.
  const compact = await render(encodeAs(openImage(master.data, outputFormat), outputFormat, 'compact'), outputFormat);
  const kept = compact.data.length < master.data.length ? compact : master;
  const compressed = performance.now();

  // variants: every preset in every variant format, from the (compressed) master.
  const made: string[] = [];
  const source = { bytes: kept.data, format: outputFormat, pages: kept.pages, width: kept.width, height: kept.height, upright: true };
  for await (const variant of makeVariants(source, parsePresets(DEFAULT_PRESETS), VARIANT_TIMEOUT_MS)) {
    made.push(`${variant.name}/${variant.image.format}`);
  }
  const done = performance.now();

  return {
    times: { strip: stripped - started, compress: compressed - stripped, variants: done - compressed },
    variants: made,
  };
}
