import type { ParsedOptions } from './option-values.ts';
import type { OutputFormat, TransformOptionName } from './transform-options.ts';

/**
 * What the server refuses in options whose every value is in range: an
 * option without the one it applies with, or an output option the format's
 * encoder does not take. The server answers a problem with 400
 * invalid_transform naming the option; the client does not canonicalise
 * options that have one.
 */
export interface OptionProblem {
  readonly option: string;
  readonly problem: string;
  readonly given: unknown;
}

/** Options that only make sense with another one; named in the problem when the other is missing. */
const REQUIRES: readonly (readonly [TransformOptionName, TransformOptionName | readonly TransformOptionName[]])[] = [
  ['fit', ['width', 'height']],
  ['enlarge', ['width', 'height']],
  ['dpr', ['width', 'height']],
  ['radius', 'mask'],
  ['overlay_gravity', 'overlay'],
  ['overlay_x', 'overlay'],
  ['overlay_y', 'overlay'],
  ['overlay_opacity', 'overlay'],
  ['overlay_tile', 'overlay'],
  ['text_font', 'text'],
  ['text_size', 'text'],
  ['text_color', 'text'],
  ['text_gravity', 'text'],
  ['text_opacity', 'text'],
];

export function combinationProblem(options: ParsedOptions): OptionProblem | undefined {
  for (const [option, needs] of REQUIRES) {
    // dpr=auto needs no size: without one, the browser's width hint gives it.
    if (options[option] === undefined || options[option] === false || options[option] === 'auto') continue;
    const alternatives = typeof needs === 'string' ? [needs] : needs;
    if (alternatives.every((name) => options[name] === undefined)) {
      return { option, problem: `only applies together with ${alternatives.join(' or ')}`, given: options[option] };
    }
  }
  if (options.radius !== undefined && options.mask !== undefined && !('shape' in options.mask && options.mask.shape === 'rounded')) {
    return { option: 'radius', problem: 'only applies to mask=rounded', given: options.radius };
  }
  return undefined;
}

/** Which output options each encoder takes, and the effort range it accepts. */
const ENCODER_OPTIONS: Readonly<
  Record<OutputFormat, { readonly takes: readonly TransformOptionName[]; readonly effort?: readonly [number, number] }>
> = {
  // JPEG effort 0 is libjpeg-turbo, 1 mozjpeg (lib/imaging/codec.ts).
  jpeg: { takes: ['quality', 'progressive', 'effort'], effort: [0, 1] },
  png: { takes: ['quality', 'progressive', 'effort'], effort: [1, 10] },
  webp: { takes: ['quality', 'lossless', 'effort'], effort: [0, 6] },
  avif: { takes: ['quality', 'lossless', 'effort'], effort: [0, 9] },
  gif: { takes: ['progressive', 'effort'], effort: [1, 10] },
  tiff: { takes: ['quality'] },
};

/** Options asking for another format than `format` (the URL's extension), or that its encoder does not take. */
export function formatProblem(options: ParsedOptions, format: OutputFormat): OptionProblem | undefined {
  if (options.format !== undefined && options.format !== format) {
    return { option: 'format', problem: `asks for ${options.format} but the request asks for ${format}`, given: options.format };
  }
  const encoder = ENCODER_OPTIONS[format];
  for (const name of ['quality', 'lossless', 'progressive', 'effort'] as const) {
    if (options[name] !== undefined && options[name] !== false && !encoder.takes.includes(name)) {
      return { option: name, problem: `does not apply to ${format} output`, given: options[name] };
    }
  }
  const [low, high] = encoder.effort ?? [0, 0];
  if (options.effort !== undefined && (options.effort < low || options.effort > high)) {
    return { option: 'effort', problem: `expected from ${low} to ${high} for ${format}`, given: options.effort };
  }
  return undefined;
}
