/**
 * SVG is rasterised, never served as SVG; still, librsvg must never be asked
 * to reach outside the file. An SVG is refused, with the first reason found,
 * if it declares entities or a DTD (XXE, billion laughs), holds scripts,
 * event handlers, HTML or javascript: URLs, or refers to anything but its
 * own elements (#id) and inline raster data. The check is an allow-list on
 * the raw text, so an escaped spelling of a forbidden value is refused too.
 */
const FORBIDDEN: readonly (readonly [RegExp, string])[] = [
  [/<!ENTITY/i, 'an entity declaration'],
  [/<!DOCTYPE[^>]*(\[|SYSTEM|PUBLIC)/i, 'a document type with declarations or an external DTD'],
  [/<\?xml-stylesheet/i, 'an external stylesheet'],
  [/<(?:[\w-]+:)?script[\s>/]/i, 'a script element'],
  [/<(?:[\w-]+:)?foreignObject[\s>/]/i, 'foreign (HTML) content'],
  [/<[^>]*\son[a-z]+\s*=/i, 'an event handler attribute'],
  [/javascript\s*:/i, 'a javascript: URL'],
  [/@import/i, 'a stylesheet import'],
];

/** Only the document's own elements and inline raster images may be referred to. */
const ALLOWED_REFERENCE = /^(#|data:image\/(png|jpeg|gif|webp);base64,)/i;
const REFERENCES = [/\b(?:href|src)\s*=\s*(["'])(.*?)\1/gis, /url\(\s*(["']?)\s*(.*?)\1\s*\)/gis];

export function unsafeSvgContent(text: string): string | null {
  for (const [pattern, reason] of FORBIDDEN) if (pattern.test(text)) return reason;
  for (const pattern of REFERENCES) {
    for (const match of text.matchAll(pattern)) {
      const target = (match[2] ?? '').trim();
      if (!ALLOWED_REFERENCE.test(target)) return `a reference to an external resource (${target.slice(0, 60)})`;
    }
  }
  return null;
}
