import { checkOptions, type CheckedOptions } from '@progimage/transform-language/schema';
import { refuseProblem } from './errors.ts';

/**
 * The server's edge of the transform language (@progimage/transform-language,
 * whose schema holds every option's name, range and message): options read
 * there, a problem refused as an InvalidOptionError naming the option.
 */

/** Options as the server takes them: every value checked and in its one form. */
export type TransformOptions = CheckedOptions;

/**
 * Parses options from a URL query (strings) or a JSON object (typed values):
 * aliases resolved, each value checked; an error names the option, what was
 * expected and what was given.
 */
export function parseOptions(input: Readonly<Record<string, unknown>>): TransformOptions {
  const checked = checkOptions(input);
  if ('problem' in checked) return refuseProblem(checked.problem);
  return checked.options;
}
