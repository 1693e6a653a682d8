import sharp from 'sharp';
import { TEXT_DEFAULTS, type Gravity } from '@progimage/transform-language';
import type { CanonicalTransform } from '../canonical.ts';
import { TransformOptionError } from '../errors.ts';
import { fontFace } from '../fonts.ts';
import { placement } from './placement.ts';
import { toRgba, type Step, type StepContext } from './step.ts';

/** libvips reads text as Pango markup: escaped, every character is drawn as written. */
const escapeMarkup = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Lines line up on the side the text is placed at. */
const alignment = (gravity: Gravity) => (gravity.includes('west') ? 'left' : gravity.includes('east') ? 'right' : 'centre');

/**
 * The text as an RGBA image in its colour, its alpha the glyphs' coverage
 * times the colour's alpha and the opacity. Lines wrap at the image's width;
 * text still taller than the image is refused, naming `text`.
 */
async function textInput({ transform, width, height }: StepContext) {
  const { text } = transform;
  if (text === undefined) throw new Error('text step without text');
  const size = transform.text_size ?? TEXT_DEFAULTS.text_size;
  const face = fontFace(transform.text_font ?? TEXT_DEFAULTS.text_font, size);
  const coverage = await sharp({
    text: {
      text: escapeMarkup(text),
      font: face.description,
      fontfile: face.file,
      dpi: 72,
      width,
      wrap: 'word-char',
      align: alignment(transform.text_gravity ?? TEXT_DEFAULTS.text_gravity),
    },
  })
    .extractChannel(0)
    .raw()
    .toBuffer({ resolveWithObject: true });
  const drawn = { width: coverage.info.width, height: coverage.info.height };
  if (drawn.width > width || drawn.height > height) {
    throw new TransformOptionError(
      'text',
      `does not fit: at text_size ${size} it is ${drawn.width}x${drawn.height} pixels, the image ${width}x${height}`,
      text,
    );
  }
  const { r, g, b, alpha } = toRgba(transform.text_color ?? TEXT_DEFAULTS.text_color);
  const opacity = alpha * (transform.text_opacity ?? TEXT_DEFAULTS.text_opacity);
  const alphaBand = await sharp(coverage.data, { raw: { ...drawn, channels: 1 } })
    .linear(opacity, 0)
    .extractChannel(0)
    .raw()
    .toBuffer();
  const data = await sharp({ create: { ...drawn, channels: 3, background: { r, g, b } } })
    .joinChannel(alphaBand, { raw: { ...drawn, channels: 1 } })
    .raw()
    .toBuffer();
  return { data, ...drawn };
}

/** Text drawn over the image, in a font of the project's own, at a gravity. */
const text: Step = {
  name: 'text',
  joins: [],
  needsSize: true,
  apply: async (image, context) => {
    const input = await textInput(context);
    const at = placement(context.transform.text_gravity ?? TEXT_DEFAULTS.text_gravity, context, input);
    return image.composite([{ input: input.data, raw: { width: input.width, height: input.height, channels: 4 }, ...at }]);
  },
};

export const textSteps = (transform: CanonicalTransform): Step[] => (transform.text === undefined ? [] : [text]);
