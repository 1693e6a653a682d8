/**
 * Decoding limits. A pixel bomb (a few KB declaring 280 megapixels) is refused
 * from its header, long before libvips allocates anything for it.
 *
 * One set per process, set from the configuration when the services start and
 * whenever the live configuration changes them (setImageLimits): they bound
 * every decode wherever it happens, and passing
 * them through every call that may decode would add nothing but noise.
 */
export interface ImageLimits {
  /** Pixels of all frames together; the default, 100 MP, is a 12000x8333 photo, well below sharp's 268 MP. */
  readonly maxInputPixels: number;
  /** Frames of an animation. */
  readonly maxFrames: number;
}

export const DEFAULT_IMAGE_LIMITS: ImageLimits = { maxInputPixels: 100_000_000, maxFrames: 500 };

let current: ImageLimits = DEFAULT_IMAGE_LIMITS;

export const imageLimits = (): ImageLimits => current;

export function setImageLimits(limits: ImageLimits): void {
  current = limits;
}
