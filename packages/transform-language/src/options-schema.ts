import { z } from 'zod';
import { combinationProblem, type OptionProblem } from './option-problems.ts';
import {
  allSides,
  COLOUR_TEXT,
  colourValue,
  CROP_RECT_TEXT,
  cropRectValue,
  formatName,
  gravityText,
  gravityValue,
  MASK_TEXT,
  maskValue,
  NAMED_COLOURS,
  readBoolean,
  readInteger,
  readNumber,
  SIDES_TEXT,
  sidesValue,
} from './option-values.ts';
import {
  CROP_STRATEGIES,
  FITS,
  GRAVITIES,
  METADATA_MODES,
  OPTION_ALIASES,
  OUTPUT_FORMATS,
  TEXT_FONTS,
  type CropGravity,
  type TransformOptionName,
} from './transform-options.ts';

/**
 * The transform language's validation: every option a transformation takes,
 * by its canonical name, with its type and range. One flat set of options,
 * each at most once, applied in a fixed order, so that a URL query and a JSON
 * body spell the same thing and two spellings share one cache key. The names,
 * aliases and enumerations are transform-options.ts's (the client types
 * requests with them), and so are the spellings of values (option-values.ts):
 * this schema reads with them, then checks ranges.
 */

/**
 * Image ids are lowercase UUIDs. The strict pattern is what keeps an id safe
 * to use inside blob keys and URLs: no "/", "..", NUL or upper case.
 */
export const imageIdSchema = z.uuid({ error: 'expected an image id (a lowercase UUID)' }).regex(/^[0-9a-f-]{36}$/);
export type ImageId = z.infer<typeof imageIdSchema>;

/** Output bounds: no side over 16384 pixels, no more pixels than an input may have. */
export const MAX_OUTPUT_SIDE = 16_384;

/** The largest device pixel ratio a size is multiplied by. */
export const MAX_DPR = 4;

const ALIASES: Readonly<Record<string, TransformOptionName>> = OPTION_ALIASES;

/** Query strings carry text; JSON carries numbers and booleans. Both go through the same schema. */
const bool = z.preprocess((value) => readBoolean(value) ?? value, z.boolean({ error: 'expected true or false' }));

const number = (min: number, max: number, what = 'a number') =>
  z.preprocess(
    (value) => readNumber(value) ?? value,
    z
      .number({ error: `expected ${what} from ${min} to ${max}` })
      .min(min, `expected ${what} from ${min} to ${max}`)
      .max(max, `expected ${what} from ${min} to ${max}`),
  );
/** A switch or a number: the number when the value reads as one ("trim=1" is threshold 1), else true or false ("0" is off). */
const switchOr = (numeric: z.ZodType<number>, what: string) =>
  z.union([z.literal('0').transform(() => false), numeric, bool], { error: `expected true, false or ${what}` });

const integer = (min: number, max: number, what = 'a whole number') =>
  z.preprocess(
    (value) => readInteger(value) ?? value,
    z
      .number({ error: `expected ${what} from ${min} to ${max}` })
      .int(`expected ${what} from ${min} to ${max}`)
      .min(min, `expected ${what} from ${min} to ${max}`)
      .max(max, `expected ${what} from ${min} to ${max}`),
  );

/** Text matching `pattern` (its form, for the OpenAPI document too), read by `valueOf`, else an issue with `message`. */
const readText = <T>(pattern: RegExp, valueOf: (text: string) => T | undefined, message: string) =>
  z
    .string()
    .regex(pattern, message)
    .transform((text, ctx) => {
      const value = valueOf(text);
      if (value === undefined) {
        ctx.addIssue({ code: 'custom', message });
        return z.NEVER;
      }
      return value;
    });

/** Colours as #rrggbbaa. */
const colour = readText(
  COLOUR_TEXT,
  colourValue,
  'expected a colour: #rgb, #rgba, #rrggbb, #rrggbbaa or one of ' + Object.keys(NAMED_COLOURS).join(', '),
);

const gravityOf = <T extends CropGravity>(allowed: readonly T[]) =>
  readText(gravityText(allowed), (text) => gravityValue(text, allowed), `expected one of ${allowed.join(', ')}`);

/** x,y,width,height in source pixels. */
const CROP_RECT_EXPECTED = 'expected x,y,width,height: four whole numbers, width and height above 0';
const cropRect = z
  .union(
    [
      readText(CROP_RECT_TEXT, cropRectValue, CROP_RECT_EXPECTED),
      z.object({ left: z.number().int().min(0), top: z.number().int().min(0), width: z.number().int(), height: z.number().int() }).strict(),
    ],
    { error: CROP_RECT_EXPECTED },
  )
  .refine(
    (rect) => rect.width >= 1 && rect.height >= 1 && rect.width <= 100_000 && rect.height <= 100_000,
    'expected a width and height from 1',
  );

/** One number for every side, or top,right,bottom,left (CSS order). */
const SIDES_EXPECTED = 'expected one whole number, or four: top,right,bottom,left';
const sides = z
  .union(
    [
      readText(SIDES_TEXT, sidesValue, SIDES_EXPECTED),
      z.number().int().transform(allSides),
      z.object({ top: z.number().int(), right: z.number().int(), bottom: z.number().int(), left: z.number().int() }).strict(),
    ],
    { error: SIDES_EXPECTED },
  )
  .refine((box) => Object.values(box).every((side) => side >= 0 && side <= 2048), 'expected each side from 0 to 2048 pixels');

const maskShape = readText(
  MASK_TEXT,
  (text) => {
    const mask = maskValue(text);
    return 'shape' in mask || imageIdSchema.safeParse(mask.image).success ? mask : undefined;
  },
  'expected circle, ellipse, rounded, or the id of a stored image whose alpha is the mask',
);

/** The most characters (code points) text drawn over an image may have. */
export const MAX_TEXT_LENGTH = 200;

/** Text to draw: 1 to MAX_TEXT_LENGTH characters, line breaks the only control characters. */
const overlayText = z
  .string({ error: `expected text of 1 to ${MAX_TEXT_LENGTH} characters` })
  .refine(
    (text) => text.trim() !== '' && Array.from(text).length <= MAX_TEXT_LENGTH,
    `expected text of 1 to ${MAX_TEXT_LENGTH} characters, not only spaces`,
  )
  .refine((text) => !/(?!\n)\p{Cc}/u.test(text), 'expected no control characters but line breaks')
  .meta({ minLength: 1, maxLength: MAX_TEXT_LENGTH });

const outputFormat = z.preprocess(
  (value) => (typeof value === 'string' ? formatName(value) : value),
  z.enum(OUTPUT_FORMATS, { error: `expected one of ${OUTPUT_FORMATS.join(', ')}` }),
);

/** Every option, by canonical name. */
export const optionsSchema = z
  .object({
    width: integer(1, MAX_OUTPUT_SIDE, 'a width in pixels'),
    height: integer(1, MAX_OUTPUT_SIDE, 'a height in pixels'),
    fit: z.enum(FITS, { error: `expected one of ${FITS.join(', ')}` }),
    enlarge: bool,
    dpr: z.union([z.literal('auto'), number(1, MAX_DPR, 'auto or a device pixel ratio')], {
      error: `expected auto or a device pixel ratio from 1 to ${MAX_DPR}`,
    }),
    gravity: gravityOf([...GRAVITIES, ...CROP_STRATEGIES]),
    crop: cropRect,
    trim: switchOr(integer(1, 255, 'a threshold'), 'a threshold from 1 to 255'),
    rotate: number(-360, 360, 'an angle in degrees'),
    background: colour,
    flip: bool,
    flop: bool,
    extend: sides,
    blur: number(0.3, 100, 'a blur sigma'),
    sharpen: switchOr(number(0.5, 10, 'a sharpen sigma'), 'a sharpen sigma from 0.5 to 10'),
    median: integer(3, 15, 'an odd window size').refine((size) => size % 2 === 1, 'expected an odd window size from 3 to 15'),
    grayscale: bool,
    brightness: number(0, 10, 'a brightness multiplier'),
    saturation: number(0, 10, 'a saturation multiplier'),
    hue: integer(-360, 360, 'a hue rotation in degrees'),
    tint: colour,
    negate: bool,
    normalise: bool,
    gamma: number(1, 3, 'a gamma'),
    threshold: integer(0, 255, 'a threshold'),
    mask: maskShape,
    radius: integer(1, 4096, 'a corner radius in pixels'),
    overlay: imageIdSchema,
    overlay_gravity: gravityOf(GRAVITIES),
    overlay_x: integer(-MAX_OUTPUT_SIDE, MAX_OUTPUT_SIDE, 'an offset in pixels'),
    overlay_y: integer(-MAX_OUTPUT_SIDE, MAX_OUTPUT_SIDE, 'an offset in pixels'),
    overlay_opacity: number(0, 1, 'an opacity'),
    overlay_tile: bool,
    text: overlayText,
    text_font: z.enum(TEXT_FONTS, { error: `expected one of ${TEXT_FONTS.join(', ')}` }),
    text_size: integer(8, 512, 'a text size in pixels'),
    text_color: colour,
    text_gravity: gravityOf(GRAVITIES),
    text_opacity: number(0, 1, 'an opacity'),
    flatten: bool,
    format: outputFormat,
    quality: integer(1, 100, 'a quality'),
    lossless: bool,
    progressive: bool,
    effort: integer(0, 10, 'an effort'),
    metadata: z.enum(METADATA_MODES, { error: `expected one of ${METADATA_MODES.join(', ')}` }),
    max_bytes: integer(1024, 50 * 1024 * 1024, 'a number of bytes'),
  } satisfies Record<TransformOptionName, z.ZodType>)
  .partial()
  .strict();

/** Options as the schema reads them: canonical names, every value checked and in its one form. */
export type CheckedOptions = z.infer<typeof optionsSchema>;

/** What checkOptions answers: the options, or the first problem, naming the option, what was expected and what was given. */
export type CheckedOptionsOrProblem = { readonly options: CheckedOptions } | { readonly problem: OptionProblem };

const problem = (option: string, what: string, given: unknown): { readonly problem: OptionProblem } => ({
  problem: { option, problem: what, given },
});

/**
 * Reads options from a URL query (strings) or a JSON object (typed values):
 * aliases resolved, each value checked, then the combination. A problem names
 * the option, what was expected and what was given.
 */
export function checkOptions(input: Readonly<Record<string, unknown>>): CheckedOptionsOrProblem {
  const named: Record<string, unknown> = {};
  for (const [given, value] of Object.entries(input)) {
    const name = ALIASES[given.toLowerCase()] ?? given.toLowerCase();
    if (Array.isArray(value)) return problem(given, 'was given more than once', value);
    if (name in named) return problem(given, `repeats ${name}`, value);
    named[name] = value;
  }
  const parsed = optionsSchema.safeParse(named);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    if (issue?.code === 'unrecognized_keys') {
      const [unknown = ''] = issue.keys;
      return problem(unknown, 'is not a transform option', named[unknown]);
    }
    const option = String(issue?.path[0] ?? '');
    return problem(option, issue?.message ?? 'is not valid', named[option]);
  }
  const combination = combinationProblem(parsed.data);
  return combination === undefined ? { options: parsed.data } : { problem: combination };
}

/** The message of a problem: the option, then what is wrong with it ("width: expected a width in pixels from 1 to 16384"). */
export const problemMessage = (found: OptionProblem): string => `${found.option}: ${found.problem}`;
