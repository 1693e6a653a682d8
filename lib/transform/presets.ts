import type { Presets } from '@progimage/transform-language/schema';
import type { OutputFormat } from '../events/payloads.ts';
import { ForbiddenError } from '../errors.ts';
import { TransformOptionError } from './errors.ts';

// Presets are defined and checked by the transform language (@progimage/transform-language/schema: parsePresets,
// DEFAULT_PRESETS); here a request names one, and the formats a preset is made in are chosen.

/**
 * Replaces `preset=NAME` in a request's options by the preset's options (the
 * request's own options on top). With `presetsOnly`, a request for a stored
 * derived image may name a preset and nothing else.
 */
export function expandPreset(request: Readonly<Record<string, unknown>>, presets: Presets, presetsOnly: boolean): Record<string, unknown> {
  const { preset, ...own } = request;
  if (preset === undefined) {
    if (presetsOnly && Object.keys(own).length > 0) {
      throw new ForbiddenError('presets_only', `only presets may be asked for: ?preset=${[...presets.keys()].join('|')}`, {
        presets: [...presets.keys()],
      });
    }
    return own;
  }
  const options = typeof preset === 'string' ? presets.get(preset) : undefined;
  if (options === undefined) {
    throw new TransformOptionError('preset', `expected one of ${[...presets.keys()].join(', ')}`, preset);
  }
  const extra = Object.keys(own).filter((name) => name !== 'format');
  if (presetsOnly && extra.length > 0) {
    throw new ForbiddenError('presets_only', `only presets may be asked for, without other options (got ${extra.join(', ')})`, {
      presets: [...presets.keys()],
    });
  }
  return { ...options, ...own };
}

const VARIANT_FORMATS: readonly OutputFormat[] = ['webp', 'avif'];

/**
 * The formats every preset is made in for an image: WebP, AVIF and the
 * master's own. Animations stay animated, so they skip AVIF, which sharp
 * writes as a still.
 */
export function variantFormats(master: OutputFormat, animated: boolean): OutputFormat[] {
  const formats = new Set<OutputFormat>([...VARIANT_FORMATS, master]);
  if (animated) formats.delete('avif');
  return [...formats];
}
