import { z } from 'zod';
import { imageIdSchema } from '../ids.ts';
import { outputFormatSchema } from '../events/payloads.ts';
import { TransformOptionError } from './errors.ts';
import {
  CROP_STRATEGIES,
  FITS,
  GRAVITIES,
  MASK_SHAPES,
  METADATA_MODES,
  OPTION_ALIASES,
  type CropGravity,
  type MaskShape,
  type TransformOptionName,
} from '../../sdk/src/transform-options.ts';

/**
 * The transform language: every option a transformation takes, by its
 * canonical name, with its type and range. One flat set of options, each at
 * most once, applied in a fixed order (see plan.ts), so that a URL query and
 * a JSON body spell the same thing and two spellings share one cache key.
 * The names, aliases and enumerations are the client package's
 * (sdk/src/transform-options.ts): the client types requests with them.
 */

/** Output bounds: no side over 16384 pixels, no more pixels than an input may have. */
export const MAX_OUTPUT_SIDE = 16_384;

export type { CropGravity, Gravity } from '../../sdk/src/transform-options.ts';

/** Spellings accepted for gravities; the canonical name is on the right. */
const GRAVITY_ALIASES: Readonly<Record<string, CropGravity>> = {
  center: 'centre', c: 'centre', n: 'north', ne: 'northeast', e: 'east', se: 'southeast', s: 'south',
  sw: 'southwest', w: 'west', nw: 'northwest', smart: 'attention',
  top: 'north', bottom: 'south', left: 'west', right: 'east',
};

const ALIASES: Readonly<Record<string, TransformOptionName>> = OPTION_ALIASES;

/** Query strings carry text; JSON carries numbers and booleans. Both go through the same schema. */
const bool = z.preprocess((value) => {
  if (value === '' || value === 'true' || value === '1' || value === 'yes') return true;
  if (value === 'false' || value === '0' || value === 'no') return false;
  return value;
}, z.boolean({ error: 'expected true or false' }));

const number = (min: number, max: number, what = 'a number') =>
  z.preprocess(
    (value) => (typeof value === 'string' && value.trim() !== '' ? Number(value) : value),
    z.number({ error: `expected ${what} from ${min} to ${max}` }).min(min, `expected ${what} from ${min} to ${max}`).max(max, `expected ${what} from ${min} to ${max}`),
  );
const integer = (min: number, max: number, what = 'a whole number') =>
  z.preprocess(
    (value) => (typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value) : value),
    z.number({ error: `expected ${what} from ${min} to ${max}` }).int(`expected ${what} from ${min} to ${max}`).min(min, `expected ${what} from ${min} to ${max}`).max(max, `expected ${what} from ${min} to ${max}`),
  );

/** Colours as hex (#rgb, #rgba, #rrggbb, #rrggbbaa, the # optional) or a few names; canonical: #rrggbbaa. */
const NAMED_COLOURS: Readonly<Record<string, string>> = {
  transparent: '#00000000', white: '#ffffffff', black: '#000000ff', red: '#ff0000ff', green: '#008000ff', blue: '#0000ffff',
};
const colour = z.string().transform((value, ctx) => {
  const text = value.trim().toLowerCase();
  const named = NAMED_COLOURS[text];
  if (named !== undefined) return named;
  const hex = text.replace(/^#/, '');
  if (!/^[0-9a-f]+$/.test(hex) || ![3, 4, 6, 8].includes(hex.length)) {
    ctx.addIssue({ code: 'custom', message: 'expected a colour: #rgb, #rgba, #rrggbb, #rrggbbaa or one of ' + Object.keys(NAMED_COLOURS).join(', ') });
    return z.NEVER;
  }
  const full = hex.length <= 4 ? hex.replace(/./g, (digit) => digit + digit) : hex;
  return `#${full.length === 6 ? `${full}ff` : full}`;
});

const gravityOf = <T extends CropGravity>(allowed: readonly T[]) =>
  z.string().transform((value, ctx) => {
    const text = value.trim().toLowerCase();
    const canonical = allowed.find((name) => name === (GRAVITY_ALIASES[text] ?? text));
    if (canonical === undefined) {
      ctx.addIssue({ code: 'custom', message: `expected one of ${allowed.join(', ')}` });
      return z.NEVER;
    }
    return canonical;
  });

/** x,y,width,height in source pixels. */
const cropRect = z.union([
  z.string().transform((value, ctx) => {
    const parts = value.split(',').map((part) => Number(part.trim()));
    if (parts.length !== 4 || parts.some((part) => !Number.isInteger(part) || part < 0)) {
      ctx.addIssue({ code: 'custom', message: 'expected x,y,width,height: four whole numbers, width and height above 0' });
      return z.NEVER;
    }
    const [left = 0, top = 0, width = 0, height = 0] = parts;
    return { left, top, width, height };
  }),
  z.object({ left: z.number().int().min(0), top: z.number().int().min(0), width: z.number().int(), height: z.number().int() }).strict(),
]).refine((rect) => rect.width >= 1 && rect.height >= 1 && rect.width <= 100_000 && rect.height <= 100_000, 'expected a width and height from 1');

/** One number for every side, or top,right,bottom,left (CSS order). */
const sides = z.union([
  z.string().transform((value, ctx) => {
    const parts = value.split(',').map((part) => Number(part.trim()));
    if (![1, 4].includes(parts.length) || parts.some((part) => !Number.isInteger(part))) {
      ctx.addIssue({ code: 'custom', message: 'expected one whole number, or four: top,right,bottom,left' });
      return z.NEVER;
    }
    const [top = 0, right = top, bottom = top, left = top] = parts;
    return { top, right, bottom, left };
  }),
  z.number().int().transform((all) => ({ top: all, right: all, bottom: all, left: all })),
  z.object({ top: z.number().int(), right: z.number().int(), bottom: z.number().int(), left: z.number().int() }).strict(),
]).refine((box) => Object.values(box).every((side) => side >= 0 && side <= 2048), 'expected each side from 0 to 2048 pixels');

const maskShape = z.string().transform((value, ctx) => {
  const text = value.trim().toLowerCase();
  const shape = MASK_SHAPES.find((name): name is MaskShape => name === text);
  if (shape !== undefined) return { shape } as const;
  const id = imageIdSchema.safeParse(text);
  if (id.success) return { image: id.data } as const;
  ctx.addIssue({ code: 'custom', message: 'expected circle, ellipse, rounded, or the id of a stored image whose alpha is the mask' });
  return z.NEVER;
});

const outputFormat = z.preprocess(
  (value) => (typeof value === 'string' ? value.trim().toLowerCase().replace(/^jpg$/, 'jpeg').replace(/^tif$/, 'tiff') : value),
  z.enum(outputFormatSchema.options, { error: `expected one of ${outputFormatSchema.options.join(', ')}` }),
);

/** Every option, by canonical name. */
export const optionsSchema = z
  .object({
    width: integer(1, MAX_OUTPUT_SIDE, 'a width in pixels'),
    height: integer(1, MAX_OUTPUT_SIDE, 'a height in pixels'),
    fit: z.enum(FITS, { error: `expected one of ${FITS.join(', ')}` }),
    enlarge: bool,
    dpr: number(1, 4),
    gravity: gravityOf([...GRAVITIES, ...CROP_STRATEGIES]),
    crop: cropRect,
    trim: z.union([bool, integer(1, 255, 'a threshold')]),
    rotate: number(-360, 360, 'an angle in degrees'),
    background: colour,
    flip: bool,
    flop: bool,
    extend: sides,
    blur: number(0.3, 100, 'a blur sigma'),
    sharpen: z.union([bool, number(0.5, 10, 'a sharpen sigma')]),
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

export type TransformOptions = z.infer<typeof optionsSchema>;
export type OptionName = keyof TransformOptions;

/** Options that only make sense with another one; named in the error when the other is missing. */
const REQUIRES: readonly (readonly [OptionName, OptionName | readonly OptionName[]])[] = [
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

function checkCombinations(options: TransformOptions): void {
  for (const [option, needs] of REQUIRES) {
    if (options[option] === undefined || options[option] === false) continue;
    const alternatives = typeof needs === 'string' ? [needs] : needs;
    if (alternatives.every((name) => options[name] === undefined)) {
      throw new TransformOptionError(option, `only applies together with ${alternatives.join(' or ')}`, options[option]);
    }
  }
  if (options.radius !== undefined && options.mask !== undefined && !('shape' in options.mask && options.mask.shape === 'rounded')) {
    throw new TransformOptionError('radius', 'only applies to mask=rounded', options.radius);
  }
}

/**
 * Parses options from a URL query (strings) or a JSON object (typed values):
 * aliases resolved, each value checked; an error names the option, what was
 * expected and what was given.
 */
export function parseOptions(input: Readonly<Record<string, unknown>>): TransformOptions {
  const named: Record<string, unknown> = {};
  for (const [given, value] of Object.entries(input)) {
    const name = ALIASES[given.toLowerCase()] ?? given.toLowerCase();
    if (Array.isArray(value)) throw new TransformOptionError(given, 'was given more than once', value);
    if (name in named) throw new TransformOptionError(given, `repeats ${name}`, value);
    named[name] = value;
  }
  const parsed = optionsSchema.safeParse(named);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    if (issue?.code === 'unrecognized_keys') {
      const [unknown = ''] = issue.keys;
      throw new TransformOptionError(unknown, 'is not a transform option', named[unknown]);
    }
    const option = String(issue?.path[0] ?? '');
    throw new TransformOptionError(option, issue?.message ?? 'is not valid', named[option]);
  }
  checkCombinations(parsed.data);
  return parsed.data;
}
