import type { OutputFormat } from './formats.ts';

export interface VariantPreset {
  readonly name: string;
  /** The variant fits inside this box, keeping its aspect ratio; never enlarged. */
  readonly maxWidth: number;
  readonly maxHeight: number;
}

/** The variants every image gets, each in WebP, AVIF and the master's own format. */
export const VARIANT_PRESETS: readonly VariantPreset[] = [
  { name: 'thumbnail', maxWidth: 200, maxHeight: 200 },
  { name: 'medium', maxWidth: 800, maxHeight: 800 },
];

const VARIANT_FORMATS: readonly OutputFormat[] = ['webp', 'avif'];

/**
 * The formats of one image's variants: WebP, AVIF and its own format.
 * Animations stay animated, so they skip AVIF, which sharp writes as a still.
 */
export function variantFormats(master: OutputFormat, animated: boolean): OutputFormat[] {
  const formats = new Set<OutputFormat>([...VARIANT_FORMATS, master]);
  if (animated) formats.delete('avif');
  return [...formats];
}

