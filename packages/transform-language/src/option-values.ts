import {
  CROP_STRATEGIES,
  FITS,
  GRAVITIES,
  MASK_SHAPES,
  METADATA_MODES,
  OUTPUT_FORMATS,
  TEXT_FONTS,
  TRANSFORM_OPTION_NAMES,
  type CropGravity,
  type CropRect,
  type MaskShape,
  type OutputFormat,
  type Sides,
  type TransformOptionName,
  type TransformOptions,
} from './transform-options.ts';

/**
 * How option values may be spelt, and the one form each is read into: query
 * text ("true", "200", "1,2,30,40") or typed values (true, 200, a CropRect),
 * gravity and colour aliases, "jpg" for jpeg. The server's schema reads
 * values with these, then checks their ranges (options-schema.ts); the
 * client reads options with them to write canonical URLs. A reader answers
 * undefined for a value that is no spelling of its kind.
 */

export type MaskValue = { readonly shape: MaskShape } | { readonly image: string };

/**
 * Options as the server parses them: canonical names, each value in its one
 * form (ranges not checked here). Colours are #rrggbbaa; a crop, the sides of
 * an extension, a mask and a format have one form each.
 */
export type ParsedOptions = Omit<TransformOptions, 'crop' | 'extend' | 'mask' | 'format'> & {
  readonly crop?: CropRect | undefined;
  readonly extend?: Sides | undefined;
  readonly mask?: MaskValue | undefined;
  readonly format?: OutputFormat | undefined;
};

export function readBoolean(value: unknown): boolean | undefined {
  if (typeof value === 'boolean') return value;
  if (value === '' || value === 'true' || value === '1' || value === 'yes') return true;
  if (value === 'false' || value === '0' || value === 'no') return false;
  return undefined;
}

/** A number, or its text; the server checks its range. */
export function readNumber(value: unknown): number | undefined {
  const number = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  return typeof number === 'number' && Number.isFinite(number) ? number : undefined;
}

/** A number, or the text of a whole number; the server checks that a number is whole and in range. */
export function readInteger(value: unknown): number | undefined {
  const number = typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value) : value;
  return typeof number === 'number' && Number.isFinite(number) ? number : undefined;
}

export const NAMED_COLOURS: Readonly<Record<string, string>> = {
  transparent: '#00000000',
  white: '#ffffffff',
  black: '#000000ff',
  red: '#ff0000ff',
  green: '#008000ff',
  blue: '#0000ffff',
};

/**
 * The text forms of the options read from text, as regular expressions: the
 * schema refuses text that does not match before it reads it, and the OpenAPI
 * document gives them as patterns, so the two cannot disagree. Like the
 * readers, they take any case and surrounding spaces.
 */
const anyCase = (word: string): string => word.replace(/[a-z]/g, (letter) => `[${letter}${letter.toUpperCase()}]`);
const spaced = (body: string): RegExp => new RegExp(`^\\s*(?:${body})\\s*$`);
const HEX = '[0-9a-fA-F]';

/** #rgb, #rgba, #rrggbb, #rrggbbaa (the # optional) or a colour's name. */
export const COLOUR_TEXT = spaced(
  `#?(?:${[8, 6, 4, 3].map((digits) => `${HEX}{${digits}}`).join('|')})|${Object.keys(NAMED_COLOURS).map(anyCase).join('|')}`,
);

/** x,y,width,height: four whole numbers. */
export const CROP_RECT_TEXT = /^\s*\d+\s*(?:,\s*\d+\s*){3}$/;

/** One whole number, or four: top,right,bottom,left. */
export const SIDES_TEXT = /^\s*\d+\s*(?:(?:,\s*\d+\s*){3})?$/;

/** A mask's shape, or the id of a stored image (a UUID). */
export const MASK_TEXT = spaced([...MASK_SHAPES.map(anyCase), `${HEX}{8}-${HEX}{4}-${HEX}{4}-${HEX}{4}-${HEX}{12}`].join('|'));

/** #rgb, #rgba, #rrggbb, #rrggbbaa (the # optional) or a name, as #rrggbbaa. */
export function colourValue(text: string): string | undefined {
  const lower = text.trim().toLowerCase();
  const named = NAMED_COLOURS[lower];
  if (named !== undefined) return named;
  const hex = lower.replace(/^#/, '');
  if (!/^[0-9a-f]+$/.test(hex) || ![3, 4, 6, 8].includes(hex.length)) return undefined;
  const full = hex.length <= 4 ? hex.replace(/./g, (digit) => digit + digit) : hex;
  return `#${full.length === 6 ? `${full}ff` : full}`;
}

const GRAVITY_ALIASES: Readonly<Record<string, CropGravity>> = {
  center: 'centre',
  c: 'centre',
  n: 'north',
  ne: 'northeast',
  e: 'east',
  se: 'southeast',
  s: 'south',
  sw: 'southwest',
  w: 'west',
  nw: 'northwest',
  smart: 'attention',
  top: 'north',
  bottom: 'south',
  left: 'west',
  right: 'east',
};

/** The spellings of the gravities `allowed`: their names and aliases. */
export function gravityText(allowed: readonly CropGravity[]): RegExp {
  const aliases = Object.entries(GRAVITY_ALIASES).flatMap(([alias, gravity]) => (allowed.includes(gravity) ? [alias] : []));
  return spaced([...allowed, ...aliases].map(anyCase).join('|'));
}

/** The gravity a spelling names, if it is one of `allowed`. */
export function gravityValue<T extends CropGravity>(text: string, allowed: readonly T[]): T | undefined {
  const lower = text.trim().toLowerCase();
  const name = GRAVITY_ALIASES[lower] ?? lower;
  return allowed.find((gravity) => gravity === name);
}

/** x,y,width,height: four whole numbers from 0 (the server checks width and height are above 0). */
export function cropRectValue(text: string): CropRect | undefined {
  const parts = text.split(',').map((part) => Number(part.trim()));
  if (parts.length !== 4 || parts.some((part) => !Number.isInteger(part) || part < 0)) return undefined;
  const [left = 0, top = 0, width = 0, height = 0] = parts;
  return { left, top, width, height };
}

export const allSides = (width: number): Sides => ({ top: width, right: width, bottom: width, left: width });

/** One whole number for every side, or top,right,bottom,left (CSS order). */
export function sidesValue(text: string): Sides | undefined {
  const parts = text.split(',').map((part) => Number(part.trim()));
  if (![1, 4].includes(parts.length) || parts.some((part) => !Number.isInteger(part))) return undefined;
  const [top = 0, right = top, bottom = top, left = top] = parts;
  return { top, right, bottom, left };
}

/** A shape, or else the id of a stored image (which the server checks). */
export function maskValue(text: string): MaskValue {
  const lower = text.trim().toLowerCase();
  const shape = MASK_SHAPES.find((name) => name === lower);
  return shape === undefined ? { image: lower } : { shape };
}

/** A format's name: lower case, jpg and tif spelt out. */
export const formatName = (text: string): string => text.trim().toLowerCase().replace(/^jpg$/, 'jpeg').replace(/^tif$/, 'tiff');

type Reader<T> = (value: unknown) => T | undefined;

const oneOf =
  <T extends string>(names: readonly T[]): Reader<T> =>
  (value) =>
    names.find((name) => name === value);

export const outputFormatValue = (text: string): OutputFormat | undefined => oneOf(OUTPUT_FORMATS)(formatName(text));

export const isRecord = (value: unknown): value is Readonly<Record<string, unknown>> => typeof value === 'object' && value !== null;

/** An object with exactly these number fields. */
function numberFields<T>(value: unknown, names: readonly (keyof T & string)[]): T | undefined {
  if (!isRecord(value) || Object.keys(value).length !== names.length) return undefined;
  return names.every((name) => typeof value[name] === 'number') ? (value as T) : undefined;
}

const fromText =
  <T>(read: (text: string) => T | undefined): Reader<T> =>
  (value) =>
    typeof value === 'string' ? read(value) : undefined;
const gravityOf = <T extends CropGravity>(allowed: readonly T[]): Reader<T> => fromText((text) => gravityValue(text, allowed));
/** An option that is a switch or a number: text that is a number is the number ("trim=1" is threshold 1), except "0", which is off. */
const numberOrSwitch =
  (read: Reader<number>): Reader<boolean | number> =>
  (value) =>
    value === '0' ? false : (read(value) ?? readBoolean(value));
const colour = fromText(colourValue);

/** The reader of each option's value: the spellings the server's schema takes for it (test/sdk/url-canonical.test.ts holds them together). */
const READERS: { readonly [N in TransformOptionName]-?: Reader<NonNullable<ParsedOptions[N]>> } = {
  trim: numberOrSwitch(readInteger),
  crop: (value) => (typeof value === 'string' ? cropRectValue(value) : numberFields<CropRect>(value, ['left', 'top', 'width', 'height'])),
  width: readInteger,
  height: readInteger,
  fit: oneOf(FITS),
  gravity: gravityOf([...GRAVITIES, ...CROP_STRATEGIES]),
  enlarge: readBoolean,
  dpr: (value) => (value === 'auto' ? value : readNumber(value)),
  rotate: readNumber,
  background: colour,
  flip: readBoolean,
  flop: readBoolean,
  extend: (value) =>
    typeof value === 'string'
      ? sidesValue(value)
      : typeof value === 'number'
        ? Number.isInteger(value)
          ? allSides(value)
          : undefined
        : numberFields<Sides>(value, ['top', 'right', 'bottom', 'left']),
  blur: readNumber,
  sharpen: numberOrSwitch(readNumber),
  median: readInteger,
  gamma: readNumber,
  negate: readBoolean,
  normalise: readBoolean,
  brightness: readNumber,
  saturation: readNumber,
  hue: readInteger,
  tint: colour,
  grayscale: readBoolean,
  threshold: readInteger,
  mask: fromText(maskValue),
  radius: readInteger,
  overlay: fromText((text) => text),
  overlay_gravity: gravityOf(GRAVITIES),
  overlay_x: readInteger,
  overlay_y: readInteger,
  overlay_opacity: readNumber,
  overlay_tile: readBoolean,
  text: fromText((text) => text),
  text_font: oneOf(TEXT_FONTS),
  text_size: readInteger,
  text_color: colour,
  text_gravity: gravityOf(GRAVITIES),
  text_opacity: readNumber,
  flatten: readBoolean,
  format: fromText(outputFormatValue),
  quality: readInteger,
  lossless: readBoolean,
  progressive: readBoolean,
  effort: readInteger,
  metadata: oneOf(METADATA_MODES),
  max_bytes: readInteger,
};

const KNOWN: ReadonlySet<string> = new Set(TRANSFORM_OPTION_NAMES);

/**
 * Options under their canonical names (see canonicalNames), each value read
 * into its one form; undefined when a name is not an option or a value is no
 * spelling of its kind: what the server would refuse.
 */
export function readOptions(named: Readonly<Record<string, unknown>>): ParsedOptions | undefined {
  const parsed: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(named)) {
    if (!KNOWN.has(name)) return undefined;
    const read = READERS[name as TransformOptionName](value);
    if (read === undefined) return undefined;
    parsed[name] = read;
  }
  return parsed;
}
