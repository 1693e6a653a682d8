/**
 * The transform language as a client writes it: every option's name, the
 * short names it may be spelt with, and the values it takes. This is the one
 * definition: the schema the server validates with (options-schema.ts) is built
 * from these names and aliases, and the client types and serialises requests with it.
 */

export const GRAVITIES = ['centre', 'north', 'northeast', 'east', 'southeast', 'south', 'southwest', 'west', 'northwest'] as const;
/** Crop strategies: where a cover crop keeps the most interesting part. */
export const CROP_STRATEGIES = ['attention', 'entropy'] as const;
export const FITS = ['cover', 'contain', 'fill', 'inside', 'outside'] as const;
export const OUTPUT_FORMATS = ['jpeg', 'png', 'webp', 'avif', 'gif', 'tiff'] as const;
export const MASK_SHAPES = ['circle', 'ellipse', 'rounded'] as const;
export const METADATA_MODES = ['strip', 'keep'] as const;
/** The fonts text is drawn in, shipped with the server: DejaVu Sans, DejaVu Sans Bold, DejaVu Serif, DejaVu Sans Mono. */
export const TEXT_FONTS = ['sans', 'sans-bold', 'serif', 'mono'] as const;

export type Gravity = (typeof GRAVITIES)[number];
export type CropGravity = Gravity | (typeof CROP_STRATEGIES)[number];
export type Fit = (typeof FITS)[number];
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];
export type MaskShape = (typeof MASK_SHAPES)[number];
export type MetadataMode = (typeof METADATA_MODES)[number];
export type TextFont = (typeof TEXT_FONTS)[number];

/** `#rgb`, `#rgba`, `#rrggbb`, `#rrggbbaa`, or transparent / white / black / red / green / blue. */
export type Colour = string;

/** A rectangle of the source in pixels. */
export interface CropRect {
  readonly left: number;
  readonly top: number;
  readonly width: number;
  readonly height: number;
}

export interface Sides {
  readonly top: number;
  readonly right: number;
  readonly bottom: number;
  readonly left: number;
}

/** Every option of a transformation, by its canonical name; they apply in a fixed order, whatever order they are written in. */
export interface TransformOptions {
  /** true (threshold 10), or a threshold 1-255. */
  readonly trim?: boolean | number | undefined;
  /** x,y,width,height in source pixels. */
  readonly crop?: CropRect | string | undefined;
  /** 1-16384 pixels. */
  readonly width?: number | undefined;
  /** 1-16384 pixels. */
  readonly height?: number | undefined;
  /** How both sides are met: cover (the default) crops, contain pads, fill stretches. */
  readonly fit?: Fit | undefined;
  readonly gravity?: CropGravity | undefined;
  /** Never enlarged unless asked. */
  readonly enlarge?: boolean | undefined;
  /** Device pixel ratio 1-4, folded into the size; auto: the browser's, from its client hints (Sec-CH-DPR, and Sec-CH-Width when no size is given), 1 without them. */
  readonly dpr?: number | 'auto' | undefined;
  /** Degrees clockwise, -360 to 360; any angle, not only right angles. */
  readonly rotate?: number | undefined;
  readonly background?: Colour | undefined;
  /** Up-down. */
  readonly flip?: boolean | undefined;
  /** Left-right. */
  readonly flop?: boolean | undefined;
  /** One width for every side, or each side, 0-2048 pixels, filled with the background. */
  readonly extend?: number | Sides | string | undefined;
  readonly blur?: number | undefined;
  readonly sharpen?: boolean | number | undefined;
  /** An odd window size 3-15. */
  readonly median?: number | undefined;
  readonly gamma?: number | undefined;
  readonly negate?: boolean | undefined;
  readonly normalise?: boolean | undefined;
  readonly brightness?: number | undefined;
  readonly saturation?: number | undefined;
  /** Degrees. */
  readonly hue?: number | undefined;
  readonly tint?: Colour | undefined;
  readonly grayscale?: boolean | undefined;
  readonly threshold?: number | undefined;
  /** A shape, or the id of a stored image whose alpha is the mask. */
  readonly mask?: MaskShape | (string & {}) | undefined;
  /** Corner radius of mask=rounded (default 16). */
  readonly radius?: number | undefined;
  /** The id of a stored image. */
  readonly overlay?: string | undefined;
  readonly overlay_gravity?: Gravity | undefined;
  readonly overlay_x?: number | undefined;
  readonly overlay_y?: number | undefined;
  readonly overlay_opacity?: number | undefined;
  readonly overlay_tile?: boolean | undefined;
  /** Text drawn over the image (1-200 characters, drawn as written: no markup). */
  readonly text?: string | undefined;
  readonly text_font?: TextFont | undefined;
  /** 8-512 pixels (default 32). */
  readonly text_size?: number | undefined;
  /** Default black. */
  readonly text_color?: Colour | undefined;
  readonly text_gravity?: Gravity | undefined;
  readonly text_opacity?: number | undefined;
  /** Onto the background (default white). */
  readonly flatten?: boolean | undefined;
  readonly format?: OutputFormat | 'jpg' | 'tif' | undefined;
  readonly quality?: number | undefined;
  readonly lossless?: boolean | undefined;
  readonly progressive?: boolean | undefined;
  readonly effort?: number | undefined;
  readonly metadata?: MetadataMode | undefined;
  /** Lossy formats step their quality down until the output fits. */
  readonly max_bytes?: number | undefined;
}

export type TransformOptionName = keyof TransformOptions;

/** Every option in the order the server applies them: the order of a canonical query. */
export const TRANSFORM_OPTION_NAMES = [
  'trim',
  'crop',
  'width',
  'height',
  'fit',
  'gravity',
  'enlarge',
  'dpr',
  'rotate',
  'background',
  'flip',
  'flop',
  'extend',
  'blur',
  'sharpen',
  'median',
  'gamma',
  'negate',
  'normalise',
  'brightness',
  'saturation',
  'hue',
  'tint',
  'grayscale',
  'threshold',
  'mask',
  'radius',
  'overlay',
  'overlay_gravity',
  'overlay_x',
  'overlay_y',
  'overlay_opacity',
  'overlay_tile',
  'text',
  'text_font',
  'text_size',
  'text_color',
  'text_gravity',
  'text_opacity',
  'flatten',
  'format',
  'quality',
  'lossless',
  'progressive',
  'effort',
  'metadata',
  'max_bytes',
] as const satisfies readonly TransformOptionName[];

/** Fails to compile when an option of TransformOptions is missing from TRANSFORM_OPTION_NAMES. */
export const EVERY_OPTION_NAMED: [Exclude<TransformOptionName, (typeof TRANSFORM_OPTION_NAMES)[number]>] extends [never] ? true : never =
  true;

/** Short names (imgproxy/thumbor style) and other spellings of canonical names. */
export const OPTION_ALIASES = {
  w: 'width',
  h: 'height',
  q: 'quality',
  g: 'gravity',
  r: 'rotate',
  bg: 'background',
  greyscale: 'grayscale',
  normalize: 'normalise',
  interlace: 'progressive',
  pad: 'extend',
  maxbytes: 'max_bytes',
  'max-bytes': 'max_bytes',
  font: 'text_font',
  text_colour: 'text_color',
} as const satisfies Readonly<Record<string, TransformOptionName>>;

export type OptionAlias = keyof typeof OPTION_ALIASES;

/** Options as a caller may write them: canonical names or their aliases. */
export type TransformInput = TransformOptions & { readonly [A in OptionAlias]?: TransformOptions[(typeof OPTION_ALIASES)[A]] };
