import { OPTION_ALIASES, TRANSFORM_OPTION_NAMES, type TransformOptionName } from './transform-options.ts';

const ALIASES: Readonly<Record<string, TransformOptionName>> = OPTION_ALIASES;
const KNOWN = new Set<string>(TRANSFORM_OPTION_NAMES);

/**
 * Options under their canonical names, without the unset ones. An option
 * given under two spellings is refused here, as the server would refuse it.
 */
export function canonicalNames(options: object): Record<string, unknown> {
  const named: Record<string, unknown> = {};
  for (const [given, value] of Object.entries(options)) {
    if (value === undefined) continue;
    const lower = given.toLowerCase();
    const name = ALIASES[lower] ?? lower;
    if (name in named) throw new TypeError(`transform option ${given} repeats ${name}`);
    named[name] = value;
  }
  return named;
}

const isRecord = (value: unknown): value is Readonly<Record<string, unknown>> => typeof value === 'object' && value !== null;

/** A value as query text: booleans as true, a crop as x,y,width,height, sides as top,right,bottom,left. */
function queryText(value: unknown): string {
  if (isRecord(value)) {
    const parts = 'left' in value && 'width' in value ? [value.left, value.top, value.width, value.height] : [value.top, value.right, value.bottom, value.left];
    return parts.map(String).join(',');
  }
  return String(value);
}

/**
 * The query of a transformation in the server's order: canonical names,
 * options in the order they apply, options that are off (false) left out.
 * Names that are not transform options (e.g. preset) follow, sorted.
 */
export function transformQuery(options: object): URLSearchParams {
  const named = canonicalNames(options);
  const order = (name: string) => (KNOWN.has(name) ? TRANSFORM_OPTION_NAMES.indexOf(name as TransformOptionName) : TRANSFORM_OPTION_NAMES.length);
  const names = Object.keys(named).sort((a, b) => order(a) - order(b) || (a < b ? -1 : a > b ? 1 : 0));
  const query = new URLSearchParams();
  for (const name of names) {
    if (named[name] !== false) query.append(name, queryText(named[name]));
  }
  return query;
}

/** The format's name as the URL's extension (jpg and tif are spelt out). */
export function formatExtension(format: string): string {
  const lower = format.toLowerCase();
  return lower === 'jpg' ? 'jpeg' : lower === 'tif' ? 'tiff' : lower;
}
