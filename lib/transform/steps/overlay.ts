import sharp from 'sharp';
import type { CanonicalTransform } from '../canonical.ts';
import { placement } from './placement.ts';
import type { Step, StepContext } from './step.ts';

/** The overlay image, no larger than the base, with its opacity applied to its alpha. */
async function overlayInput({ transform, resources, width, height }: StepContext) {
  if (transform.overlay === undefined) throw new Error('overlay step without an overlay');
  const opacity = transform.overlay_opacity ?? 1;
  const rgba = await sharp(await resources.loadImage(transform.overlay))
    .resize(width, height, { fit: 'inside', withoutEnlargement: true })
    .toColourspace('srgb')
    .ensureAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  // sharp applies linear() before ensureAlpha() in one pipeline: an image without alpha needs a second one.
  const { data, info } = await sharp(rgba.data, { raw: { width: rgba.info.width, height: rgba.info.height, channels: rgba.info.channels } })
    .linear([1, 1, 1, opacity], [0, 0, 0, 0])
    .png()
    .toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

/** A stored image drawn over this one (a watermark): at a gravity with offsets, or tiled. */
const overlay: Step = {
  name: 'overlay',
  joins: [],
  needsSize: true,
  apply: async (image, context) => {
    const input = await overlayInput(context);
    const { transform } = context;
    if (transform.overlay_tile === true) return image.composite([{ input: input.data, tile: true }]);
    const at = placement(transform.overlay_gravity ?? 'southeast', context, input, transform.overlay_x ?? 0, transform.overlay_y ?? 0);
    return image.composite([{ input: input.data, ...at }]);
  },
};

export const overlaySteps = (transform: CanonicalTransform): Step[] => (transform.overlay === undefined ? [] : [overlay]);
