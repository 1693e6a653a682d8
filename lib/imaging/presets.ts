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

export const VARIANT_FORMATS: readonly OutputFormat[] = ['webp', 'avif'];
