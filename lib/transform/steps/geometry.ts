import type { CanonicalTransform } from '../canonical.ts';
import { toRgba, withColourBackground, type Step } from './step.ts';

const TRANSPARENT = '#00000000';

/** sharp's names for the canonical gravities and strategies. */
export const SHARP_POSITION = {
  centre: 'centre',
  north: 'north',
  northeast: 'northeast',
  east: 'east',
  southeast: 'southeast',
  south: 'south',
  southwest: 'southwest',
  west: 'west',
  northwest: 'northwest',
  attention: 'attention',
  entropy: 'entropy',
} as const;

const trim: Step = {
  name: 'trim',
  joins: [],
  apply: (image, { transform }) => image.trim({ threshold: transform.trim === false ? 0 : Number(transform.trim) }),
};

const crop: Step = {
  name: 'crop',
  joins: [],
  apply: (image, { transform, width, height }) => {
    const rect = transform.crop;
    if (rect === undefined) return image;
    // A rectangle reaching past the edge is cut at the edge.
    const left = Math.min(rect.left, width - 1);
    const top = Math.min(rect.top, height - 1);
    return image.extract({ left, top, width: Math.min(rect.width, width - left), height: Math.min(rect.height, height - top) });
  },
  needsSize: true,
};

const resize: Step = {
  name: 'resize',
  // sharp extracts before resizing when extract() was called first.
  joins: ['crop'],
  apply: async (image, { transform }) =>
    (await withColourBackground(image, transform)).resize({
      ...(transform.width === undefined ? {} : { width: transform.width }),
      ...(transform.height === undefined ? {} : { height: transform.height }),
      fit: transform.fit ?? 'cover',
      position: SHARP_POSITION[transform.gravity ?? 'centre'],
      withoutEnlargement: transform.enlarge !== true,
      background: toRgba(transform.background ?? TRANSPARENT),
    }),
};

const rotate: Step = {
  name: 'rotate',
  joins: [],
  apply: async (image, { transform }) =>
    (await withColourBackground(image, transform)).rotate(transform.rotate ?? 0, {
      background: toRgba(transform.background ?? TRANSPARENT),
    }),
};

const mirror: Step = {
  name: 'mirror',
  joins: [],
  apply: (image, { transform }) => image.flip(transform.flip === true).flop(transform.flop === true),
};

const extend: Step = {
  name: 'extend',
  // sharp mirrors before it extends.
  joins: ['mirror'],
  apply: async (image, { transform }) =>
    transform.extend === undefined
      ? image
      : (await withColourBackground(image, transform)).extend({
          ...transform.extend,
          background: toRgba(transform.background ?? TRANSPARENT),
        }),
};

/** The geometry steps a transformation asks for, in the fixed order. */
export function geometrySteps(transform: CanonicalTransform): Step[] {
  const steps: Step[] = [];
  if (transform.trim !== undefined && transform.trim !== false) steps.push(trim);
  if (transform.crop !== undefined) steps.push(crop);
  if (transform.width !== undefined || transform.height !== undefined) steps.push(resize);
  if (transform.rotate !== undefined) steps.push(rotate);
  if (transform.flip === true || transform.flop === true) steps.push(mirror);
  if (transform.extend !== undefined) steps.push(extend);
  return steps;
}
