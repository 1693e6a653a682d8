import { createHash } from 'node:crypto';
import { blobKeys } from '../blob-keys.ts';
import type { ImageId, Tenant } from '../ids.ts';
import type { OutputFormat } from '../events/payloads.ts';
import { canonicalForm, formatProblem, type CanonicalForm } from '@progimage/transform-language';
import { refuseProblem } from './errors.ts';
import type { TransformOptions } from './options.ts';

/** See @progimage/transform-language's canonical-form.ts: the client writes image URLs from the same form. */
export type CanonicalTransform = CanonicalForm;

/**
 * The canonical form of `options` for output in `format` (from the URL's
 * extension or the options; they must agree when both are given).
 */
export function canonicalise(options: TransformOptions, format: OutputFormat): CanonicalTransform {
  refuseProblem(formatProblem(options, format));
  return canonicalForm(options, format);
}

/** Whether output in `format` takes `options` (canonicalise refuses them otherwise: another format named, an output option its encoder does not take). */
export const formatTakes = (format: OutputFormat, options: TransformOptions): boolean => formatProblem(options, format) === undefined;

/** JSON with keys sorted at every level: one text per canonical form. */
export function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([name, item]) => `${JSON.stringify(name)}:${stableJson(item)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** The cache key of a transformation of one source: a hash of the source's identity and the canonical form. */
export function transformHash(sourceIdentity: string, transform: CanonicalTransform): string {
  return createHash('sha256').update(sourceIdentity).update('\n').update(stableJson(transform)).digest('hex').slice(0, 32);
}

/**
 * Where a stored image's transformation is kept: GET /v1/images/ID.EXT?…
 * and batches put the same work under the same key. An image's master never
 * changes once made, so the image's identity is its tenant and id.
 */
export function storedTransformKey(subject: { readonly tenant: Tenant; readonly imageId: ImageId }, transform: CanonicalTransform): string {
  return blobKeys.transformed(subject, transformHash(`${subject.tenant}/${subject.imageId}`, transform), transform.format);
}

/** Whether the transformation does anything beyond encoding in its format with the default settings. */
export const isPlainConversion = (transform: CanonicalTransform): boolean => Object.keys(transform).length === 1;
