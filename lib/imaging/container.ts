import type { ImageFormat } from '../events/payloads.ts';
import { jpegSegments } from './jpeg-segments.ts';

/** What the file's structure says, read without decoding a pixel. */
export interface ContainerFacts {
  /** Where the image ends (the offset after its last byte), or null when it was not found. */
  readonly end: number | null;
  /** The file stops before its structure says the image ends. */
  readonly truncated: boolean;
  /** Frames of an animation (1 for a still image). */
  readonly frames: number;
}

const UNKNOWN: ContainerFacts = { end: null, truncated: false, frames: 1 };
const TRUNCATED: ContainerFacts = { end: null, truncated: true, frames: 1 };

/** JPEG: the segments up to the first scan, then the entropy-coded data up to the marker after it, until EOI. */
function jpeg(bytes: Buffer): ContainerFacts {
  const { segments, end } = jpegSegments(bytes);
  if (end === 'eoi') return { end: segments.at(-1)?.end ?? null, truncated: false, frames: 1 };
  return end === 'not-a-marker' ? UNKNOWN : TRUNCATED;
}

/** PNG: chunk after chunk until IEND; an APNG's acTL says how many frames. */
function png(bytes: Buffer): ContainerFacts {
  let at = 8;
  let frames = 1;
  while (at + 8 <= bytes.length) {
    const length = bytes.readUInt32BE(at);
    const type = bytes.toString('latin1', at + 4, at + 8);
    if (type === 'acTL' && at + 12 <= bytes.length) frames = bytes.readUInt32BE(at + 8);
    at += 12 + length;
    if (type === 'IEND') return { end: at, truncated: at > bytes.length, frames };
  }
  return { end: null, truncated: true, frames };
}

/** Skips GIF data sub-blocks (a length byte, that many bytes, until a zero length). */
function skipSubBlocks(bytes: Buffer, start: number): number {
  let at = start;
  while (at < bytes.length && bytes[at] !== 0) at += 1 + (bytes[at] ?? 0);
  return at + 1;
}

const colourTableBytes = (flags: number): number => ((flags & 0x80) === 0 ? 0 : 3 * 2 ** ((flags & 0x07) + 1));

/** GIF: the screen descriptor, then extensions and images, until the trailer (0x3B). */
function gif(bytes: Buffer): ContainerFacts {
  let at = 13 + colourTableBytes(bytes[10] ?? 0);
  let frames = 0;
  while (at < bytes.length) {
    const block = bytes[at];
    if (block === 0x3b) return { end: at + 1, truncated: false, frames: Math.max(frames, 1) };
    if (block === 0x21) {
      at = skipSubBlocks(bytes, at + 2);
    } else if (block === 0x2c) {
      frames += 1;
      at = skipSubBlocks(bytes, at + 10 + colourTableBytes(bytes[at + 9] ?? 0) + 1);
    } else {
      return { end: null, truncated: false, frames: Math.max(frames, 1) };
    }
  }
  return { end: null, truncated: true, frames: Math.max(frames, 1) };
}

/** WebP: the RIFF header says how long the file is; an animation has one ANMF chunk per frame. */
function webp(bytes: Buffer): ContainerFacts {
  if (bytes.length < 12) return UNKNOWN;
  const riffEnd = 8 + bytes.readUInt32LE(4);
  let frames = 0;
  let at = 12;
  while (at + 8 <= Math.min(riffEnd, bytes.length)) {
    const type = bytes.toString('latin1', at, at + 4);
    const size = bytes.readUInt32LE(at + 4);
    if (type === 'ANMF') frames += 1;
    at += 8 + size + (size % 2);
  }
  return { end: riffEnd + (riffEnd % 2), truncated: riffEnd > bytes.length, frames: Math.max(frames, 1) };
}

const WALKERS: Partial<Record<ImageFormat, (bytes: Buffer) => ContainerFacts>> = { jpeg, png, gif, webp };

/**
 * Walks the structure of a JPEG, PNG, GIF or WebP file: where the image
 * ends (or that the file stops first), and how many frames it has. Other
 * formats are not walked.
 */
export function inspectContainer(bytes: Buffer, format: ImageFormat): ContainerFacts {
  const walk = WALKERS[format];
  if (walk === undefined) return UNKNOWN;
  try {
    return walk(bytes);
  } catch (error) {
    if (error instanceof RangeError) return TRUNCATED; // a length field pointing past the end
    throw error;
  }
}

/**
 * Bytes after the image's end that are neither padding (zeros) nor, after a
 * JPEG, a further JPEG (a multi-picture file: a gain map, a depth map).
 */
export function foreignTrailer(bytes: Buffer, format: ImageFormat, end: number): number {
  if (end >= bytes.length) return 0;
  const rest = bytes.subarray(end);
  if (rest.every((byte) => byte === 0)) return 0;
  if (format === 'jpeg' && rest[0] === 0xff && rest[1] === 0xd8) return 0;
  return rest.length;
}
