import {
  canonicalForm,
  combinationProblem,
  formatProblem,
  isRecord,
  outputFormatValue,
  OPTION_ALIASES,
  readOptions,
  TRANSFORM_OPTION_NAMES,
  type CanonicalForm,
  type TransformOptionName,
} from '@progimage/transform-language';

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

/** A value as query text: booleans as true, a crop as x,y,width,height, sides as top,right,bottom,left, a mask by its shape or image. */
function queryText(value: unknown): string {
  if (isRecord(value)) {
    if ('shape' in value) return String(value.shape);
    if ('image' in value) return String(value.image);
    const parts =
      'left' in value && 'width' in value
        ? [value.left, value.top, value.width, value.height]
        : [value.top, value.right, value.bottom, value.left];
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
  const order = (name: string) =>
    KNOWN.has(name) ? TRANSFORM_OPTION_NAMES.indexOf(name as TransformOptionName) : TRANSFORM_OPTION_NAMES.length;
  const names = Object.keys(named).sort((a, b) => order(a) - order(b) || (a < b ? -1 : a > b ? 1 : 0));
  const query = new URLSearchParams();
  for (const name of names) {
    if (named[name] !== false) query.append(name, queryText(named[name]));
  }
  return query;
}

/**
 * The canonical form (the transform language's canonical-form.ts) of options for output in `format`,
 * or undefined when the client cannot know it: with a preset (only the
 * server knows its options), with dpr=auto (the browser's hints size it,
 * request by request), and when the server will refuse the options (a
 * name that is not an option, a value that is no spelling of its kind, an
 * option without the one it needs, an output option the format does not
 * take).
 */
export function canonicalTransform(options: object, format: string): CanonicalForm | undefined {
  const parsed = readOptions(canonicalNames(options));
  const output = outputFormatValue(format);
  if (
    parsed === undefined ||
    output === undefined ||
    parsed.dpr === 'auto' ||
    (combinationProblem(parsed) ?? formatProblem(parsed, output)) !== undefined
  )
    return undefined;
  return canonicalForm(parsed, output);
}

/**
 * The query of a stored image in `format` (the URL's extension), written
 * from the options' canonical form: options that mean the same work give one
 * query, and the server reads it back into that same form. When the client
 * cannot know that form, the options go as given, in canonical names and
 * order (transformQuery), and the server's answer says what it makes of them;
 * so do they for `auto`, where the server picks the format by request.
 */
export function imageQuery(options: object, format: string): URLSearchParams {
  const canonical = canonicalTransform(options, format);
  if (canonical === undefined) return transformQuery(options);
  const { format: inExtension, ...query } = canonical;
  return transformQuery(query);
}
