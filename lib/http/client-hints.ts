import type { IncomingHttpHeaders } from 'node:http';
import { MAX_DPR, MAX_OUTPUT_SIDE } from '@progimage/transform-language/schema';
import type { TransformOptions } from '../transform/options.ts';

/**
 * What a browser says of the screen an image is for (HTTP client hints,
 * RFC 8942): `Sec-CH-DPR` (or the legacy `DPR`), device pixels per CSS
 * pixel; `Sec-CH-Width` (or `Width`), the width the page lays the image out
 * at (its `sizes`), in device pixels.
 */
export interface ClientHints {
  /** From 1 to MAX_DPR; 1 without the hint. */
  readonly dpr: number;
  /** Whole device pixels, at most MAX_OUTPUT_SIDE; undefined without the hint. */
  readonly width: number | undefined;
}

/** What a response to dpr=auto asks the browser to send with the next requests. */
export const ACCEPT_CH = 'Sec-CH-DPR, Sec-CH-Width';

/** A hint as a positive number (`Sec-CH-DPR: 2`, `DPR: 1.5`), under its standard name or else its legacy one. */
function hintNumber(headers: IncomingHttpHeaders, standard: string, legacy: string): number | undefined {
  const text = headers[standard] ?? headers[legacy];
  const value = typeof text === 'string' && text.trim() !== '' ? Number(text) : Number.NaN;
  return Number.isFinite(value) && value > 0 ? value : undefined;
}

export function readClientHints(headers: IncomingHttpHeaders): ClientHints {
  const dpr = hintNumber(headers, 'sec-ch-dpr', 'dpr') ?? 1;
  const width = hintNumber(headers, 'sec-ch-width', 'width');
  return {
    dpr: Math.min(Math.max(dpr, 1), MAX_DPR),
    width: width === undefined ? undefined : Math.min(Math.max(Math.round(width), 1), MAX_OUTPUT_SIDE),
  };
}

/** Whether the hinted width sizes the image: options that give no size of their own. */
const sizedByWidthHint = (options: TransformOptions): boolean => options.width === undefined && options.height === undefined;

/**
 * `options` with dpr=auto made the hinted ratio; when they give no size,
 * the hinted width instead (already in device pixels, so at ratio 1), as
 * imgproxy reads these hints. Without hints, dpr=auto is 1.
 */
export function withClientHints(options: TransformOptions, hints: ClientHints): TransformOptions {
  if (options.dpr !== 'auto') return options;
  if (sizedByWidthHint(options) && hints.width !== undefined) return { ...options, width: hints.width, dpr: 1 };
  return { ...options, dpr: hints.dpr };
}

/** The request headers the answer to dpr=auto depends on (its Vary): the width hints only when the options give no size. */
export function clientHintHeaders(options: TransformOptions): string[] {
  return ['Sec-CH-DPR', 'DPR', ...(sizedByWidthHint(options) ? ['Sec-CH-Width', 'Width'] : [])];
}
