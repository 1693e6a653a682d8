import { z } from 'zod';
import { idempotencyKeySchema } from '../../ids.ts';

/** A path segment naming something, described. */
export const pathSegment = (description: string) => z.string().meta({ description });

/** The page size of a listing: from 1 to `maximum`, `byDefault` when not given. */
export const pageLimit = (maximum: number, byDefault: number) =>
  z.coerce.number({ error: `expected a number from 1 to ${maximum}` }).int().min(1).max(maximum).default(byDefault);

/** The cursor of a listing: the previous page's `next`. */
export const nextOf = <T extends z.ZodType>(cursor: T) => cursor.optional().meta({ description: "The previous page's next" });

/** The header of requests that may be retried safely. */
export const idempotencyHeaders = z.object({
  'Idempotency-Key': idempotencyKeySchema.optional().meta({
    description: 'A retry with the same key answers as the first request did and stores nothing twice; 1-255 visible ASCII characters',
  }),
});

