import type { OutputFormat } from '../events/payloads.ts';
import type { EncodedImage } from '../imaging/codec.ts';
import { canonicalise } from './canonical.ts';
import { parseOptions } from './options.ts';
import { variantFormats, type Presets } from './presets.ts';
import { runTransformInFormats, type TransformSource } from './run-transform.ts';
import type { TransformResources } from './steps/step.ts';

export interface MadeVariant {
  readonly name: string;
  readonly image: EncodedImage;
}

/** Presets work on the image alone: a mask or overlay of another image has no place in them. */
const NO_OTHER_IMAGES: TransformResources = {
  loadImage: () => Promise.reject(new Error('presets cannot use other images')),
};

/**
 * Every preset in every variant format, from a master (a preset's steps run
 * once for all its formats): what processors/variants stores, and the
 * benchmark's limit loop repeats.
 */
export async function* makeVariants(
  master: TransformSource & { readonly format: OutputFormat; readonly pages: number },
  presets: Presets,
  timeoutMs: number,
): AsyncGenerator<MadeVariant> {
  for (const [name, options] of presets) {
    const parsed = parseOptions(options);
    const transforms = variantFormats(master.format, master.pages > 1).map((format) => canonicalise(parsed, format));
    const images = await runTransformInFormats(master, transforms, { resources: NO_OTHER_IMAGES, deadline: Date.now() + timeoutMs });
    for (const image of images) yield { name, image };
  }
}
