import { z } from 'zod';
import { checkOptions, problemMessage } from './options-schema.ts';

/** Presets by name: transform options as written in the configuration, checked when it is loaded. */
export type Presets = ReadonlyMap<string, Readonly<Record<string, unknown>>>;

const PRESET_NAME = /^[a-z0-9-]{1,32}$/;

/** What every image gets unless the configuration says otherwise: boxes it fits inside, never enlarged. */
export const DEFAULT_PRESETS: Readonly<Record<string, Readonly<Record<string, unknown>>>> = {
  thumbnail: { width: 200, height: 200, fit: 'inside' },
  medium: { width: 800, height: 800, fit: 'inside' },
};

/** Why a preset's options are refused, if they are: a problem of the language, an output format, another preset. */
function presetProblem(options: Readonly<Record<string, unknown>>): string | undefined {
  const checked = checkOptions(options);
  if ('problem' in checked) return problemMessage(checked.problem);
  if (checked.options.format !== undefined) return 'format: a preset is made in every format; leave it out';
  if ('preset' in options) return 'preset: a preset cannot name another';
  return undefined;
}

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
    const problem = presetProblem(options);
    if (problem !== undefined) throw new Error(`preset "${name}": ${problem}`);
    presets.set(name, options);
  }
  return presets;
}
