import sharp from 'sharp';
import type { CanonicalTransform } from '../canonical.ts';
import { DEFAULT_CORNER_RADIUS } from '@progimage/transform-language';
import type { Step, StepContext } from './step.ts';

/** A white shape on transparency, the size of the image: what stays visible. */
function shapeSvg(shape: 'circle' | 'ellipse' | 'rounded', width: number, height: number, radius: number): Buffer {
  const element =
    shape === 'circle'
      ? `<circle cx="${width / 2}" cy="${height / 2}" r="${Math.min(width, height) / 2}"/>`
      : shape === 'ellipse'
        ? `<ellipse cx="${width / 2}" cy="${height / 2}" rx="${width / 2}" ry="${height / 2}"/>`
        : `<rect width="${width}" height="${height}" rx="${radius}" ry="${radius}"/>`;
  return Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" fill="#fff">${element}</svg>`);
}

async function maskInput({ transform, resources, width, height }: StepContext): Promise<Buffer> {
  const mask = transform.mask;
  if (mask === undefined) throw new Error('mask step without a mask');
  if ('shape' in mask) return shapeSvg(mask.shape, width, height, transform.radius ?? DEFAULT_CORNER_RADIUS);
  // Another stored image: its alpha, stretched over this image, is the mask.
  return sharp(await resources.loadImage(mask.image))
    .resize(width, height, { fit: 'fill' })
    .ensureAlpha()
    .png()
    .toBuffer();
}

/** Keeps the pixels under the mask's opaque parts; the rest becomes transparent. */
const mask: Step = {
  name: 'mask',
  joins: [],
  needsSize: true,
  apply: async (image, context) => image.ensureAlpha().composite([{ input: await maskInput(context), blend: 'dest-in' }]),
};

export const maskSteps = (transform: CanonicalTransform): Step[] => (transform.mask === undefined ? [] : [mask]);
