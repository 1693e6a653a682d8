import type { Metadata } from 'sharp';
import type { ImageFormat } from '../events/payloads.ts';
import { assertDecodes, encodeAs, openImage, readMetadata, render, type EncodedImage } from './codec.ts';
import { masterFormat } from './formats.ts';
import { jpegWithoutMetadata } from './jpeg-without-metadata.ts';

/**
 * A JPEG that already is what a master must be but for its metadata:
 * baseline (a progressive JPEG takes about twice as long to decode, shrink on
 * load or not), 8-bit sRGB without an ICC profile to convert from, upright.
 */
const isMasterAlready = (meta: Metadata): boolean =>
  meta.format === 'jpeg' &&
  !meta.isProgressive &&
  meta.space === 'srgb' &&
  meta.channels === 3 &&
  meta.depth === 'uchar' &&
  !meta.hasProfile &&
  (meta.orientation ?? 1) === 1;

/**
 * The master of an original: upright by its EXIF orientation, sRGB (CMYK and
 * wide-gamut images keep their look), no metadata at all (EXIF, XMP, IPTC,
 * GPS, ICC, comments), and quick to decode, since every derivative decodes it
 * again. A JPEG that is all that but for its metadata keeps its own pixels
 * bytes for bytes, the metadata segments dropped: no generation loss, no
 * encode; its data is still decoded once, so that a damaged file fails here.
 * Anything else is decoded and encoded with the `master` profile; a JPEG
 * keeps its source's chroma resolution (4:4:4 only when it had it).
 */
export async function makeMaster(original: Buffer, format: ImageFormat): Promise<EncodedImage> {
  const meta = await readMetadata(openImage(original, format));
  const stripped = isMasterAlready(meta) ? jpegWithoutMetadata(original) : null;
  if (stripped !== null) {
    await assertDecodes(openImage(stripped, 'jpeg'), meta.width);
    return { data: stripped, format: 'jpeg', width: meta.width, height: meta.height, pages: 1 };
  }
  const output = masterFormat(format);
  const chromaSubsampling = meta.chromaSubsampling?.startsWith('4:4:4') === true ? '4:4:4' : '4:2:0';
  return render(encodeAs(openImage(original, format).rotate().toColourspace('srgb'), output, 'master', { chromaSubsampling }), output);
}
