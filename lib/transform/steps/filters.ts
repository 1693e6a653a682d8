import type { Sharp } from 'sharp';
import type { CanonicalTransform } from '../canonical.ts';
import { toRgba, withColourBackground, type Step, type StepName } from './step.ts';

type FilterName = 'median' | 'blur' | 'sharpen' | 'gamma' | 'negate' | 'normalise' | 'modulate' | 'tint' | 'grayscale' | 'threshold';

/**
 * The pixel filters in the language's order, each with its place in sharp's
 * own order of one pipeline's operations (src/pipeline.cc: greyscale before
 * the resize; then median, threshold, blur, modulate, sharpen, gamma's
 * brightening half, normalise, tint, negate). Filters share a pipeline only
 * while sharp's order agrees with the language's.
 */
const FILTER_ORDER: readonly (readonly [FilterName, number])[] = [
  ['median', 3],
  ['blur', 5],
  ['sharpen', 7],
  ['gamma', 8],
  ['negate', 11],
  ['normalise', 9],
  ['modulate', 6],
  ['tint', 10],
  ['grayscale', 1],
  ['threshold', 4],
];

function requested(t: CanonicalTransform, name: FilterName): boolean {
  if (name === 'modulate') return t.brightness !== undefined || t.saturation !== undefined || t.hue !== undefined;
  return t[name] !== undefined && t[name] !== false;
}

function applyFilters(image: Sharp, t: CanonicalTransform, names: readonly FilterName[]): Sharp {
  let out = image;
  const has = (name: FilterName) => names.includes(name);
  if (has('median') && t.median !== undefined) out = out.median(t.median);
  if (has('blur') && t.blur !== undefined) out = out.blur(t.blur);
  if (has('sharpen')) out = out.sharpen({ sigma: Number(t.sharpen) });
  if (has('gamma') && t.gamma !== undefined) out = out.gamma(t.gamma);
  if (has('negate')) out = out.negate({ alpha: false });
  if (has('normalise')) out = out.normalise();
  if (has('modulate')) {
    out = out.modulate({
      ...(t.brightness === undefined ? {} : { brightness: t.brightness }),
      ...(t.saturation === undefined ? {} : { saturation: t.saturation }),
      ...(t.hue === undefined ? {} : { hue: t.hue }),
    });
  }
  if (has('tint') && t.tint !== undefined) out = out.tint(toRgba(t.tint));
  if (has('grayscale')) out = out.grayscale();
  if (has('threshold') && t.threshold !== undefined) out = out.threshold(t.threshold);
  return out;
}

/**
 * The filters a transformation asks for, in as few steps as sharp's order
 * allows; the first joins the geometry before it (sharp filters after it
 * crops, resizes and mirrors; grey before, which comes to the same).
 */
export function filterSteps(transform: CanonicalTransform): Step[] {
  const groups: FilterName[][] = [];
  let lastRank = Number.POSITIVE_INFINITY;
  for (const [name, rank] of FILTER_ORDER) {
    if (!requested(transform, name)) continue;
    const group = groups.at(-1);
    if (group !== undefined && rank > lastRank) group.push(name);
    else groups.push([name]);
    lastRank = rank;
  }
  return groups.map((names, index): Step => {
    const joins: StepName[] = index === 0 ? ['crop', 'resize', 'mirror'] : [];
    return { name: 'filters', joins, apply: (image, { transform: t }) => applyFilters(image, t, names) };
  });
}

const flatten: Step = {
  name: 'flatten',
  joins: [],
  apply: async (image, { transform }) => {
    const { r, g, b } = toRgba(transform.background ?? '#ffffffff');
    return (await withColourBackground(image, transform)).flatten({ background: { r, g, b } });
  },
};

export const flattenSteps = (transform: CanonicalTransform): Step[] => (transform.flatten === true ? [flatten] : []);
