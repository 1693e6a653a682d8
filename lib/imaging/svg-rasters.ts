import { imageSize } from 'image-size';

/** A raster image inlined in an SVG as a data: URL, by its declared dimensions (null: its header cannot be read). */
export interface EmbeddedRaster {
  readonly width: number;
  readonly height: number;
}

const DATA_URL = /data:image\/(?:png|jpeg|gif|webp);base64,([A-Za-z0-9+/=\s]+)/gi;

/**
 * The inline rasters of an SVG, read from their headers only. librsvg decodes
 * each at full size, and draws one it cannot decode as nothing at all, so
 * both a pixel bomb and an unreadable raster must be seen before the SVG is
 * taken in.
 */
export function embeddedRasters(text: string): (EmbeddedRaster | null)[] {
  return [...text.matchAll(DATA_URL)].map((match) => {
    try {
      const { width, height } = imageSize(Buffer.from((match[1] ?? '').replace(/\s+/g, ''), 'base64'));
      return width > 0 && height > 0 ? { width, height } : null;
    } catch {
      return null;
    }
  });
}
