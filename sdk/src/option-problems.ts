import type { ParsedOptions } from './option-values.ts';
import type { TransformOptionName } from './transform-options.ts';

/**
 * What the server refuses in options whose every value is in range: an
 * option without the one it applies with. The server answers a problem with
 * 400 invalid_transform naming the option.
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
];

export function combinationProblem(options: ParsedOptions): OptionProblem | undefined {
  for (const [option, needs] of REQUIRES) {
    if (options[option] === undefined || options[option] === false) continue;
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
