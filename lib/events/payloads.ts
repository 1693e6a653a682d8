import { z } from 'zod';
import { idempotencyKeySchema, imageIdSchema } from '../ids.ts';
import { BLOB_KEY_PATTERN } from '../ports/blob-store.ts';
import { OUTPUT_FORMATS } from '@progimage/transform-language';

/** Image formats ProgImage accepts and produces, by their canonical short name. */
export const imageFormatSchema = z.enum(['jpeg', 'png', 'webp', 'gif', 'avif', 'heif', 'tiff', 'svg']);
export type ImageFormat = z.infer<typeof imageFormatSchema>;

/** Formats ProgImage writes (the client package names them). SVG and HEIF are read, never written (SVG rasterises, HEIF becomes AVIF). */
export const outputFormatSchema = z.enum(OUTPUT_FORMATS);
export type OutputFormat = z.infer<typeof outputFormatSchema>;

const blobKey = z.string().min(1).max(1024);
const sha256 = z.string().regex(/^[0-9a-f]{64}$/);
const dimension = z.number().int().positive();
const byteCount = z.number().int().nonnegative();

export const pipelineStageSchema = z.enum(['ingest', 'scan', 'strip', 'compress', 'variants']);
export type PipelineStage = z.infer<typeof pipelineStageSchema>;

/** The longest time to live an upload may ask for: ten years. */
export const MAX_TTL_SECONDS = 10 * 365 * 24 * 3600;

/** The longest URL an ingest request may name. */
export const MAX_URL_LENGTH = 4096;

/**
 * What an upstream system asks ProgImage to take in (the public request of
 * ingest.requested): an object it put under incoming/<tenant>/ in the bucket
 * (`key`; removed once taken in), or an image to fetch (`url`), exactly one.
 */
export const ingestRequestedSchema = z
  .object({
    key: z.string().max(1024).regex(BLOB_KEY_PATTERN, 'expected an object key such as incoming/TENANT/photo.jpg').optional(),
    url: z.string().max(MAX_URL_LENGTH).optional(),
    filename: z.string().max(255).optional(),
    /** Seconds until the image is deleted; without it the tenant's default, else the service's. */
    ttl: z.number().int().min(1).max(MAX_TTL_SECONDS).optional(),
    /** The same key on a retry (with another source, say a fresh presigned URL) makes it the same request. */
    idempotencyKey: idempotencyKeySchema.optional(),
  })
  .strict()
  .refine((payload) => (payload.key === undefined) !== (payload.url === undefined), { error: 'expected either key or url (not both)' });
export type IngestRequest = z.infer<typeof ingestRequestedSchema>;

/** The original is stored (privately); nothing has decoded it yet. */
export const imageUploadedSchema = z.object({
  originalKey: blobKey,
  format: imageFormatSchema,
  contentType: z.string(),
  bytes: byteCount,
  sha256,
  width: dimension,
  height: dimension,
  filename: z.string().max(255).optional(),
  /** When the image and everything derived from it are deleted; absent: never. */
  expiresAt: z.iso.datetime().optional(),
});

export const scanVerdictSchema = z.enum(['clean', 'infected', 'unscanned']);
export type ScanVerdict = z.infer<typeof scanVerdictSchema>;

/** The verdict on the original. Only `clean` and `unscanned` images are ever decoded. */
export const imageScannedSchema = z.object({
  verdict: scanVerdictSchema,
  /** Carried forward so that strip needs nothing but this event. */
  original: z.object({ key: blobKey, format: imageFormatSchema }),
  signatures: z.array(z.string()),
  engine: z.string().optional(),
  signatureVersion: z.string().optional(),
  /** Where an infected original now lives (never served). */
  quarantineKey: blobKey.optional(),
});

/** The scheduler asks for a clean image's original to be scanned again with newer signatures. */
export const imageRescanRequestedSchema = z.object({ original: z.object({ key: blobKey, format: imageFormatSchema }) });

/** The scheduler found the image past its expiresAt: the catalog deletes it with its blobs. */
export const imageExpiredSchema = z.object({ expiresAt: z.iso.datetime() });

/** A new verdict on an original scanned before; it replaces the earlier one. */
export const imageRescannedSchema = imageScannedSchema;

export const renditionSchema = z.object({
  key: blobKey,
  format: outputFormatSchema,
  width: dimension,
  height: dimension,
  bytes: byteCount,
  pages: z.number().int().positive(),
});
export type Rendition = z.infer<typeof renditionSchema>;

/** The master: upright, sRGB, no metadata. Everything served derives from it. */
export const imageStrippedSchema = z.object({ master: renditionSchema });

/** The master re-encoded smaller; `master` is the re-encoded one when kept, the stripped one otherwise. */
export const imageCompressedSchema = z.object({
  master: renditionSchema,
  bytesBefore: byteCount,
  bytesAfter: byteCount,
  kept: z.boolean(),
});

export const variantSchema = renditionSchema.extend({ name: z.string().regex(/^[a-z0-9-]{1,32}$/) });
export type Variant = z.infer<typeof variantSchema>;

export const imageVariantsBuiltSchema = z.object({ variants: z.array(variantSchema) });

/** Where a batch item's image comes from: a stored image's master (resolved by the catalog), or a URL. */
const batchSourceSchema = z.union([
  z.object({ image: z.object({ id: imageIdSchema, key: blobKey, format: outputFormatSchema }) }).strict(),
  z.object({ url: z.string().max(4096) }).strict(),
]);

/** One item of a batch: one source, every transformation of the batch. The envelope's imageId is the item's id. */
export const transformRequestedSchema = z.object({
  batchId: imageIdSchema,
  index: z.number().int().nonnegative(),
  source: batchSourceSchema,
  /** The transformations as the client gave them (options by name); the processor parses them again. */
  transforms: z.array(z.record(z.string(), z.unknown())).min(1),
  store: z.boolean(),
});

export const transformResultSchema = z.object({
  /** Which of the batch's transformations. */
  transform: z.number().int().nonnegative(),
  format: outputFormatSchema,
  width: dimension,
  height: dimension,
  bytes: byteCount,
  /** Where the output is kept, when the batch stores its outputs. */
  key: blobKey.optional(),
});
export type TransformResult = z.infer<typeof transformResultSchema>;

/** One item done: its outputs, or why it failed (one failed item never fails its batch). */
export const transformCompletedSchema = z.object({
  batchId: imageIdSchema,
  index: z.number().int().nonnegative(),
  results: z.array(transformResultSchema),
  failure: z.object({ code: z.string(), reason: z.string() }).optional(),
});

/** A stage gave up on an image: the catalog shows it as failed there. */
export const imageFailedSchema = z.object({
  stage: pipelineStageSchema,
  reason: z.string(),
  /** Whether the input itself is at fault (bad image) rather than the system (server down). */
  permanent: z.boolean(),
  attempts: z.number().int().positive(),
});

/**
 * The image's original has the same sha256 as `canonicalId`'s (same tenant):
 * from now on it is served from that image's blobs, and its own are surplus.
 */
export const imageDeduplicatedSchema = z.object({
  canonicalId: imageIdSchema,
  sha256,
  originalKey: blobKey,
  master: renditionSchema,
  compressedMaster: renditionSchema,
  variants: z.array(variantSchema),
});

export { imageIdSchema };
