/**
 * Decoding limits. A pixel bomb (a few KB declaring 280 megapixels) is refused
 * from its header, long before libvips allocates anything for it.
 */
export const IMAGE_LIMITS = {
  /** Well below sharp's default of 268 MP: 100 MP is a 12000x8333 photo. */
  maxInputPixels: 100_000_000,
  /** Frames of an animation that will be decoded. */
  maxFrames: 500,
} as const;
