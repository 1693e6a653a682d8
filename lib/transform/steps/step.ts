import type { Sharp } from 'sharp';
import { InvalidOptionError } from '../../errors.ts';
import type { ImageId } from '../../ids.ts';
import type { CanonicalTransform } from '../canonical.ts';

export type StepName = 'trim' | 'crop' | 'resize' | 'rotate' | 'mirror' | 'extend' | 'filters' | 'mask' | 'overlay' | 'text' | 'flatten';

/** Other stored images a transformation reads (mask and overlay sources): their masters' bytes. */
export interface TransformResources {
  loadImage(id: ImageId): Promise<Buffer>;
}

/** Resources where no other stored image can be read (request data, batches, presets): a mask or overlay of one is a 400 saying why. */
export const noOtherImages = (reason: string): TransformResources => ({
  loadImage: () => Promise.reject(new InvalidOptionError(reason)),
});

export interface StepContext {
  readonly transform: CanonicalTransform;
  readonly resources: TransformResources;
  /** The image's size so far; exact only for steps that ask for it (`needsSize`). */
  readonly width: number;
  readonly height: number;
}

/**
 * One operation of the fixed order. sharp applies the operations of one
 * pipeline in an order of its own, whatever order they were called in, so a
 * step shares a pipeline only with the earlier steps named in `joins`;
 * otherwise the runner renders the pixels so far and starts a new pipeline.
 */
export interface Step {
  readonly name: StepName;
  readonly joins: readonly StepName[];
  /** Needs the exact size of the image so far (then it starts a pipeline of its own). */
  readonly needsSize?: true;
  apply(image: Sharp, context: StepContext): Sharp | Promise<Sharp>;
}

/** sharp takes colours as {r, g, b, alpha}; the canonical form spells them #rrggbbaa. */
export function toRgba(hex: string): { r: number; g: number; b: number; alpha: number } {
  const channel = (index: number) => Number.parseInt(hex.slice(1 + index * 2, 3 + index * 2), 16);
  return { r: channel(0), g: channel(1), b: channel(2), alpha: channel(3) / 255 };
}

/**
 * sharp paints a background colour onto a grey image as that colour's grey
 * (and flattens onto its red channel alone): a grey image that gets a
 * background colour is processed in sRGB. Only a grey one: a CMYK image
 * converted that way would skip its ICC profile.
 */
export async function withColourBackground(image: Sharp, transform: CanonicalTransform): Promise<Sharp> {
  if (transform.background === undefined) return image;
  const { channels } = await image.metadata();
  return channels <= 2 ? image.pipelineColourspace('srgb') : image;
}
