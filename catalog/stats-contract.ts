import { z } from 'zod';
import type { ZodOpenApiPathsObject } from 'zod-openapi';
import { imageIdSchema } from '../lib/ids.ts';
import { pageLimit } from '../lib/http/contract/parameters.ts';
import { always, badQuery, failure } from '../lib/http/contract/refusals.ts';

/** GET /v1/stats/top: how many. */
export const topQuery = z.object({ limit: pageLimit(1000, 10) });

export const imageStatsSchema = z
  .object({
    id: z.uuid(),
    hits: z.int().min(0),
    byRendition: z
      .record(z.string(), z.int().min(0))
      .meta({ description: 'e.g. {"webp": 12, "variants/thumbnail.webp": 3, "transformed": 1}' }),
    links: z.object({ image: z.string() }),
  })
  .meta({ id: 'ImageStats' });
export type ImageStatsView = z.infer<typeof imageStatsSchema>;

export const statsPaths: ZodOpenApiPathsObject = {
  '/v1/images/{id}/stats': {
    get: {
      operationId: 'getImageStats',
      summary: "The image's hits, in all and by what was served (this process's unflushed hits included)",
      requestParams: { path: z.object({ id: imageIdSchema.meta({ description: 'The image id' }) }) },
      responses: {
        '200': { description: 'Its statistics', content: { 'application/json': { schema: imageStatsSchema } } },
        '404': failure('no such image', ['not_found']),
        ...always,
      },
    },
  },
  '/v1/stats/top': {
    get: {
      operationId: 'topImages',
      summary: "The tenant's most requested images, most first, as of the last flush",
      requestParams: { query: topQuery },
      responses: {
        '200': { description: 'The top', content: { 'application/json': { schema: z.object({ images: z.array(imageStatsSchema) }) } } },
        ...badQuery('a bad limit'),
        ...always,
      },
    },
  },
};
