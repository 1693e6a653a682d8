import type { OutputFormat, TransformInput } from './transform-options.ts';

/**
 * The public image model: what the API answers about images and batches. The
 * one definition of an image's statuses: the catalog records them, the
 * scheduler and the backlog count them, and the client types its answers with them.
 */

/** Every status an image can have, in the order the pipeline reaches them; `deleted` is final. */
export const IMAGE_STATUSES = [
  'uploaded',
  'unscanned',
  'clean',
  'infected',
  'stripped',
  'compressed',
  'ready',
  'failed',
  'deleted',
] as const;
export type ImageStatus = (typeof IMAGE_STATUSES)[number];

/** Every status but `deleted`: the images that are kept. */
export const LIVE_IMAGE_STATUSES = IMAGE_STATUSES.filter((status): status is Exclude<ImageStatus, 'deleted'> => status !== 'deleted');
export type StageState = 'done' | 'failed' | 'pending';

/** The answer to an upload: the image is stored and the pipeline has it. */
export interface UploadedImage {
  readonly id: string;
  readonly status: 'uploaded';
  /** `webp` is absent for an image past WebP's 16383 pixels a side. */
  readonly links: { readonly self: string; readonly webp?: string };
  /** Present when the pipeline is long: about how many seconds until the images ahead of this one are done (at most 86400). */
  readonly expectedWaitSeconds?: number;
}

interface Stage {
  readonly state: StageState;
  readonly at: string | null;
}

/** An image's metadata and where each stage of the pipeline stands (GET /v1/images/ID). */
export interface Image {
  readonly id: string;
  readonly status: ImageStatus;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly format: string | null;
  readonly width: number | null;
  readonly height: number | null;
  readonly bytes: number | null;
  readonly pages: number | null;
  readonly original: {
    readonly format: string;
    readonly contentType: string;
    readonly bytes: number;
    readonly sha256: string;
    readonly width: number;
    readonly height: number;
    readonly filename: string | null;
  } | null;
  /** When the image is deleted (an upload with a time to live), or null: kept until deleted. */
  readonly expiresAt: string | null;
  readonly stages: {
    readonly upload: Stage;
    readonly scan: Stage & {
      readonly verdict: 'clean' | 'infected' | 'unscanned' | null;
      readonly signatures: readonly string[];
      readonly engine: string | null;
      readonly signatureVersion: string | null;
    };
    readonly strip: Stage;
    readonly compress: Stage & { readonly bytesBefore: number | null; readonly bytesAfter: number | null; readonly kept: boolean | null };
    readonly variants: Stage;
  };
  readonly failure: { readonly stage: string; readonly reason: string; readonly at: string } | null;
  readonly variants: readonly {
    readonly name: string;
    readonly format: OutputFormat;
    readonly width: number;
    readonly height: number;
    readonly bytes: number;
    readonly url: string;
  }[];
  readonly links: { readonly self: string; readonly image?: string };
}

export interface ImagePage {
  readonly images: readonly Image[];
  readonly next: string | null;
}

export interface BatchCounts {
  readonly total: number;
  readonly done: number;
  readonly failed: number;
  readonly pending: number;
}

export interface Batch {
  readonly id: string;
  readonly status: 'accepting' | 'running' | 'completed';
  readonly createdAt: string;
  readonly store: boolean;
  readonly transforms: readonly Readonly<Record<string, unknown>>[];
  readonly counts: BatchCounts;
  readonly links: { readonly self: string; readonly events: string };
}

export interface BatchItem {
  readonly index: number;
  readonly status: 'done' | 'failed';
  readonly completedAt: string;
  readonly failure: { readonly code: string; readonly reason: string } | null;
  readonly results: readonly {
    readonly transform: number;
    readonly format: OutputFormat;
    readonly width: number;
    readonly height: number;
    readonly bytes: number;
    readonly url: string | null;
  }[];
}

/** A batch with one page of its items (GET /v1/batches/ID). */
export interface BatchPage extends Batch {
  readonly items: readonly BatchItem[];
  readonly next: string | null;
}

/** What POST /v1/batches takes: stored image ids or URLs, and 1-10 transformations. */
export type BatchRequest = (
  { readonly images: readonly string[]; readonly urls?: never } | { readonly urls: readonly string[]; readonly images?: never }
) & {
  readonly transforms: readonly TransformInput[];
  /** Keep the outputs (the default), or only report their sizes. */
  readonly store?: boolean;
};

/** One event of a batch's progress stream: `completed` is the last. */
export interface BatchEvent {
  readonly type: 'progress' | 'completed';
  readonly batch: Batch;
}
