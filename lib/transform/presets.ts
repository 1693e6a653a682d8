import { z } from 'zod';
import type { OutputFormat } from '../events/payloads.ts';
import { ForbiddenError } from '../errors.ts';
import { TransformOptionError } from './errors.ts';
import { parseOptions } from './options.ts';

/** Presets by name: transform options as written in the configuration, checked when it is loaded. */
export type Presets = ReadonlyMap<string, Readonly<Record<string, unknown>>>;

const PRESET_NAME = /^[a-z0-9-]{1,32}$/;

/** What every image gets unless the configuration says otherwise: boxes it fits inside, never enlarged. */
export const DEFAULT_PRESETS: Readonly<Record<string, Readonly<Record<string, unknown>>>> = {
  thumbnail: { width: 200, height: 200, fit: 'inside' },
  medium: { width: 800, height: 800, fit: 'inside' },
};

/**
 * Checks presets (a JSON object of name → options): names of 1-32 a-z, 0-9
 * and "-", options of the transform language, no output format (a preset is
 * made in several) and no other preset. Throws naming the preset.
 */
export function parsePresets(input: unknown): Presets {
  const definitions = z.record(z.string(), z.record(z.string(), z.unknown())).safeParse(input);
  if (!definitions.success) throw new Error('expected a JSON object of preset name → transform options');
  const presets = new Map<string, Record<string, unknown>>();
  for (const [name, options] of Object.entries(definitions.data)) {
    if (!PRESET_NAME.test(name)) throw new Error(`preset "${name}": a name is 1-32 characters a-z, 0-9 or "-"`);
    try {
      const parsed = parseOptions(options);
      if (parsed.format !== undefined) throw new Error('format: a preset is made in every format; leave it out');
      if ('preset' in options) throw new Error('preset: a preset cannot name another');
    } catch (error) {
      throw new Error(`preset "${name}": ${error instanceof Error ? error.message : String(error)}`);
    }
    presets.set(name, options);
  }
  return presets;
}

/**
 * Replaces `preset=NAME` in a request's options by the preset's options (the
 * request's own options on top). With `presetsOnly`, a request for a stored
 * derived image may name a preset and nothing else.
 */
export function expandPreset(
  request: Readonly<Record<string, unknown>>,
  presets: Presets,
  presetsOnly: boolean,
): Record<string, unknown> {
  const { preset, ...own } = request;
  if (preset === undefined) {
    if (presetsOnly && Object.keys(own).length > 0) {
      throw new ForbiddenError('presets_only', `only presets may be asked for: ?preset=${[...presets.keys()].join('|')}`, { presets: [...presets.keys()] });
    }
    return own;
  }
  const options = typeof preset === 'string' ? presets.get(preset) : undefined;
  if (options === undefined) {
    throw new TransformOptionError('preset', `expected one of ${[...presets.keys()].join(', ')}`, preset);
  }
  const extra = Object.keys(own).filter((name) => name !== 'format');
  if (presetsOnly && extra.length > 0) {
    throw new ForbiddenError('presets_only', `only presets may be asked for, without other options (got ${extra.join(', ')})`, { presets: [...presets.keys()] });
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
