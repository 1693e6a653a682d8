import { createRequire } from 'node:module';
import type { TextFont } from '@progimage/transform-language';

/**
 * The fonts text is drawn in: TrueType files of the dejavu-fonts-ttf package
 * (DejaVu fonts, under their own free licence, in its LICENSE), a dependency
 * of the server, so that text looks the same wherever it runs and never
 * depends on the fonts a machine has installed.
 */
const FACES: Readonly<Record<TextFont, { readonly file: string; readonly family: string }>> = {
  sans: { file: 'DejaVuSans.ttf', family: 'DejaVu Sans' },
  'sans-bold': { file: 'DejaVuSans-Bold.ttf', family: 'DejaVu Sans Bold' },
  serif: { file: 'DejaVuSerif.ttf', family: 'DejaVu Serif' },
  mono: { file: 'DejaVuSansMono.ttf', family: 'DejaVu Sans Mono' },
};

const resolve = createRequire(import.meta.url).resolve;

export interface FontFace {
  /** The path of its TrueType file. */
  readonly file: string;
  /** The Pango font description of the face in the file, at `size` pixels. */
  readonly description: string;
}

/** The face of `font` at `size` pixels (Pango's points at 72 dpi). */
export function fontFace(font: TextFont, size: number): FontFace {
  const { file, family } = FACES[font];
  return { file: resolve(`dejavu-fonts-ttf/ttf/${file}`), description: `${family} ${size}` };
}
