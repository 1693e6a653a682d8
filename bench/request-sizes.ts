/** The output size the transform benchmarks ask for first: the 720x588 (the fixture 2725x2225 at a quarter of its width or so). */
export const WIDTH = 720;
export const HEIGHT = 588;
/** Sizes step 1 px in width over this many, then 1 px in height. */
const WIDTHS = 40;
/** How many sizes there are, down to half the height. */
export const DISTINCT_SIZES = WIDTHS * (HEIGHT / 2 + 1);

/**
 * The size of a run's request number `index`: 720x588 first, then each a
 * pixel or so smaller (within 2% of it for the first thousand), so that no
 * request for a stored image is ever a hit, while the work stays the same.
 */
export function sizeAt(index: number): readonly [number, number] {
  if (index >= DISTINCT_SIZES) throw new RangeError(`request ${index}: no size near ${WIDTH}x${HEIGHT} left`);
  return [WIDTH - (index % WIDTHS), HEIGHT - Math.floor(index / WIDTHS)];
}
