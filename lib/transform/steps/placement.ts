import type { Gravity } from '@progimage/transform-language';

interface Size {
  readonly width: number;
  readonly height: number;
}

/**
 * Where a gravity puts the top-left corner of `item` drawn over `base`; the
 * offsets move it inwards from that edge. It is kept inside the base, since
 * sharp refuses to composite anything reaching outside.
 */
export function placement(gravity: Gravity, base: Size, item: Size, x = 0, y = 0): { left: number; top: number } {
  const horizontal = gravity.includes('west') ? 'start' : gravity.includes('east') ? 'end' : 'middle';
  const vertical = gravity.startsWith('north') ? 'start' : gravity.startsWith('south') ? 'end' : 'middle';
  const along = (where: string, space: number, offset: number) =>
    where === 'start' ? offset : where === 'end' ? space - offset : Math.round(space / 2) + offset;
  const left = along(horizontal, base.width - item.width, x);
  const top = along(vertical, base.height - item.height, y);
  return {
    left: Math.max(0, Math.min(left, base.width - item.width)),
    top: Math.max(0, Math.min(top, base.height - item.height)),
  };
}
