import type { ParsedUrlQuery } from 'node:querystring';
import { extensionForContentType, formatForExtension } from '../imaging/formats.ts';
import { HttpError } from './errors.ts';

/**
 * `?download` or `?download=NAME`: the image as a file to save. A parameter
 * of the response, not of the transformation: it changes no stored result,
 * and a signed URL's signature covers it like every other parameter.
 */
const DOWNLOAD_PARAMETER = 'download';

/** The query without `download`: what a transformation is read from. */
export function withoutDownload(query: ParsedUrlQuery): ParsedUrlQuery {
  const { [DOWNLOAD_PARAMETER]: download, ...rest } = query;
  return rest;
}

/** The name `?download` asks to save as ("" for the default one), or null when it is not asked for. */
function requestedDownload(query: ParsedUrlQuery): string | null {
  const value = query[DOWNLOAD_PARAMETER];
  if (value === undefined) return null;
  if (Array.isArray(value)) throw new HttpError(400, 'invalid_query', `${DOWNLOAD_PARAMETER}: was given more than once`);
  return value;
}

/** Control characters, and the invisible format ones that can disguise an extension (bidirectional overrides, zero-width marks). */
const INVISIBLE = /[\p{Cc}\p{Cf}]/gu;
/** Path separators, and what Windows refuses in a file name. */
const RESERVED = /[/\\:*?"<>|]/g;
const MAX_STEM_CHARACTERS = 150;

/**
 * A file name safe to save as anywhere: no path, no control, invisible or
 * reserved characters, not hidden, at most 150 characters before an
 * extension that matches the served format (the name's own when it means
 * that format, else the format's, in place of another image extension or
 * added). `fallback` when nothing of the name is left.
 */
export function safeFileName(requested: string, fallback: string, extension: string | null): string {
  const cleaned = requested
    .normalize('NFC')
    .replace(INVISIBLE, '')
    .replace(RESERVED, '_')
    .replace(/\s+/g, ' ')
    .replace(/^[\s.]+|[\s.]+$/g, '');
  const dot = cleaned.lastIndexOf('.');
  const ownFormat = dot === -1 ? null : formatForExtension(cleaned.slice(dot + 1));
  const stem = ownFormat === null ? cleaned : cleaned.slice(0, dot);
  const keepsOwn = ownFormat !== null && (extension === null || ownFormat === formatForExtension(extension));
  const suffix = keepsOwn ? cleaned.slice(dot + 1) : extension;
  const shortened = Array.from(stem)
    .slice(0, MAX_STEM_CHARACTERS)
    .join('')
    .replace(/[\s.]+$/, '');
  return `${shortened === '' ? fallback : shortened}${suffix === null ? '' : `.${suffix}`}`;
}

/** RFC 8187 encoding: UTF-8, percent-encoded but for the attr-chars. */
const extendedValue = (text: string): string =>
  encodeURIComponent(text).replace(/['()*]/g, (character) => `%${character.charCodeAt(0).toString(16).toUpperCase()}`);

/**
 * Content-Disposition: attachment (RFC 6266) with `fileName`: as it is when
 * it is plain ASCII; otherwise an ASCII approximation for old clients and
 * the exact name in `filename*`.
 */
export function attachment(fileName: string): string {
  if (/^[\x20-\x7e]*$/.test(fileName) && !fileName.includes('%')) return `attachment; filename="${fileName}"`;
  const ascii = fileName
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^\x20-\x7e]|%/g, '_');
  return `attachment; filename="${ascii}"; filename*=UTF-8''${extendedValue(fileName)}`;
}

/**
 * The Content-Disposition a query's `download` asks for, for an image of
 * `contentType` whose default name is `name`; null when it asks for none.
 */
export function downloadDisposition(query: ParsedUrlQuery, name: string, contentType: string): string | null {
  const requested = requestedDownload(query);
  return requested === null ? null : attachment(safeFileName(requested, name, extensionForContentType(contentType)));
}
