import type { OutputFormat } from '../events/payloads.ts';
import type { EncodedImage } from '../imaging/codec.ts';
import { fitsFormat } from '../imaging/format-limits.ts';
import { canonicalise } from './canonical.ts';
import { parseOptions } from './options.ts';
import { plannedSize, type Size } from './planned-size.ts';
import type { Presets } from '@progimage/transform-language/schema';
import { variantFormats } from './presets.ts';
import { runTransformInFormats, type TransformSource } from './run-transform.ts';
import { noOtherImages } from './steps/step.ts';

const PRESET_RESOURCES = noOtherImages('presets cannot use other stored images as masks or overlays');

export interface MadeVariant {
  readonly name: string;
  readonly image: EncodedImage;
}

/**
 * Every preset in every variant format that can hold it (no WebP of a preset
 * 16384 pixels wide), from a master (a preset's steps run once for all its
 * formats), encoded as variants built once and served many times: what
 * processors/variants stores, and the benchmark's limit loop repeats.
 */
export async function* makeVariants(
  master: TransformSource & Size & { readonly format: OutputFormat; readonly pages: number },
  presets: Presets,
  timeoutMs: number,
): AsyncGenerator<MadeVariant> {
  // Its size is known: no preset reads its header again.
  const source = { ...master, size: { width: master.width, height: master.height } };
  for (const [name, options] of presets) {
    const parsed = parseOptions(options);
    const transforms = variantFormats(master.format, master.pages > 1)
      .map((format) => canonicalise(parsed, format))
      .filter((transform) => fitsFormat(plannedSize(master, transform), transform.format));
    const images = await runTransformInFormats(source, transforms, {
      resources: PRESET_RESOURCES,
      deadline: Date.now() + timeoutMs,
      purpose: 'variant',
    });
    for (const image of images) yield { name, image };
  }
}
