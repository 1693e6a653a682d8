import { z } from 'zod';
import { IMAGE_STATUSES } from '@progimage/transform-language';
import { imageFailedSchema, imageFormatSchema, imageScannedSchema, outputFormatSchema, variantSchema } from '../lib/events/payloads.ts';
import { outcomeTypeSchema } from '../lib/events/outcomes.ts';
import { imageIdSchema, tenantSchema } from '../lib/ids.ts';

const at = z.iso.datetime();

const renditionSchema = z.object({
  key: z.string(),
  format: outputFormatSchema,
  width: z.number().int(),
  height: z.number().int(),
  bytes: z.number().int(),
  pages: z.number().int(),
});

/** The image statuses of the public image model (@progimage/transform-language), the one list. */
export const imageStatusSchema = z.enum(IMAGE_STATUSES);
export type ImageStatus = z.infer<typeof imageStatusSchema>;

/**
 * The catalog's document for one image: what each stage reported, when. It is
 * a projection of the event stream: every field is set by one event type, the
 * first time that event is seen, so replays and duplicates change nothing.
 */
export const imageRecordSchema = z.object({
  id: imageIdSchema,
  tenant: tenantSchema,
  /** Derived from the fields below on every save; stored so lists can filter on it. */
  status: imageStatusSchema,
  createdAt: at,
  updatedAt: at,
  original: z
    .object({
      key: z.string(),
      format: imageFormatSchema,
      contentType: z.string(),
      bytes: z.number().int(),
      sha256: z.string(),
      width: z.number().int(),
      height: z.number().int(),
      filename: z.string().optional(),
      expiresAt: at.optional(),
      at,
    })
    .optional(),
  scan: imageScannedSchema.omit({ original: true }).extend({ at }).optional(),
  master: renditionSchema.extend({ at }).optional(),
  compression: z
    .object({ master: renditionSchema, bytesBefore: z.number().int(), bytesAfter: z.number().int(), kept: z.boolean(), at })
    .optional(),
  variants: z.object({ items: z.array(variantSchema), at }).optional(),
  failure: imageFailedSchema.extend({ at }).optional(),
  deletedAt: at.optional(),
  /** The image whose blobs this one is served from (an equal original, deduplicated); top-level so it can be queried. */
  blobsOf: imageIdSchema.optional(),
  /** The outcomes published about the image, each once the catalog knows (absent: recorded before outcomes existed; none is published for it). */
  outcomesAnnounced: z.array(outcomeTypeSchema).optional(),
});
export type ImageRecord = z.infer<typeof imageRecordSchema>;
