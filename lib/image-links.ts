import type { ImageId } from './ids.ts';
import { fitsFormat, type Dimensions } from './imaging/format-limits.ts';

/** Where a client finds an image: its metadata, and the image as WebP (a good default for browsers) when WebP can hold it. */
export interface ImageLinks {
  readonly self: string;
  /** Absent for an image past WebP's 16383 pixels a side; any other supported extension works on `self` too. */
  readonly webp?: string;
}

export function imageLinks(id: ImageId, size: Dimensions): ImageLinks {
  const self = `/v1/images/${id}`;
  return fitsFormat(size, 'webp') ? { self, webp: `${self}.webp` } : { self };
}
