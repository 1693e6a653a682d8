import type { CanonicalTransform } from '../canonical.ts';
import { toRgba, type Step } from './step.ts';

/**
 * The pixel filters. sharp applies them in an order of its own, which is the
 * language's order too: each filter appears at most once.
 */
const filters: Step = {
  name: 'filters',
  joins: ['crop', 'resize', 'mirror'],
  apply: (image, { transform: t }) => {
    let out = image;
    if (t.median !== undefined) out = out.median(t.median);
    if (t.blur !== undefined) out = out.blur(t.blur);
    if (t.sharpen !== undefined && t.sharpen !== false) out = out.sharpen({ sigma: Number(t.sharpen) });
    if (t.gamma !== undefined) out = out.gamma(t.gamma);
    if (t.negate === true) out = out.negate({ alpha: false });
    if (t.normalise === true) out = out.normalise();
    if (t.brightness !== undefined || t.saturation !== undefined || t.hue !== undefined) {
      out = out.modulate({
        ...(t.brightness === undefined ? {} : { brightness: t.brightness }),
        ...(t.saturation === undefined ? {} : { saturation: t.saturation }),
        ...(t.hue === undefined ? {} : { hue: t.hue }),
      });
    }
    if (t.tint !== undefined) out = out.tint(toRgba(t.tint));
    if (t.grayscale === true) out = out.grayscale();
    if (t.threshold !== undefined) out = out.threshold(t.threshold);
    return out;
  },
};

const FILTER_OPTIONS = ['median', 'blur', 'sharpen', 'gamma', 'negate', 'normalise', 'brightness', 'saturation', 'hue', 'tint', 'grayscale', 'threshold'] as const;

export const filterSteps = (transform: CanonicalTransform): Step[] =>
  FILTER_OPTIONS.some((name) => transform[name] !== undefined && transform[name] !== false) ? [filters] : [];

const flatten: Step = {
  name: 'flatten',
  joins: [],
  apply: (image, { transform }) => {
    const { r, g, b } = toRgba(transform.background ?? '#ffffffff');
    return image.flatten({ background: { r, g, b } });
  },
};

export const flattenSteps = (transform: CanonicalTransform): Step[] => (transform.flatten === true ? [flatten] : []);
