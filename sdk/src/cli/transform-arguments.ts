import type { ImageUrlOptions } from '../images.ts';
import { OPTION_ALIASES, TRANSFORM_OPTION_NAMES } from '@progimage/transform-language';
import { UsageError } from './exit-codes.ts';

const NAMES: ReadonlySet<string> = new Set([...TRANSFORM_OPTION_NAMES, ...Object.keys(OPTION_ALIASES), 'preset']);

/**
 * Transform options written as `name=value` words (a bare name is true), e.g.
 * `w=200 fit=cover flip`; the server checks the values.
 */
export function transformArguments(words: readonly string[]): Record<string, string | boolean> {
  const options: Record<string, string | boolean> = {};
  for (const word of words) {
    const equals = word.indexOf('=');
    const name = (equals === -1 ? word : word.slice(0, equals)).toLowerCase();
    if (!NAMES.has(name)) throw new UsageError(`"${name}" is not a transform option (options: ${[...NAMES].join(', ')})`);
    options[name] = equals === -1 ? true : word.slice(equals + 1);
  }
  return options;
}

/** One transformation written as a query, `w=200&format=webp`. */
export const transformQueryArgument = (text: string): Record<string, string | boolean> =>
  transformArguments(text.split('&').filter((word) => word !== ''));

/** `<id> <format> [option=value]…`: a stored image in a format, transformed (url, sign); the server checks the format and values. */
export function imageUrlArguments(
  positionals: readonly string[],
  command: string,
): { readonly id: string; readonly options: ImageUrlOptions } {
  const [id, format, ...words] = positionals;
  if (id === undefined || format === undefined) throw new UsageError(`${command} takes an image id, a format and transform options`);
  return { id, options: { ...transformArguments(words), format } as ImageUrlOptions };
}
