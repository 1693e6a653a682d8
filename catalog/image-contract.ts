import { z } from 'zod';
import type { ZodOpenApiPathsObject } from 'zod-openapi';
import { IMAGE_STATUSES, OUTPUT_FORMATS, type Image } from '@progimage/transform-language';
import { imageIdSchema } from '../lib/ids.ts';
import { SUPPORTED_EXTENSIONS } from '../lib/imaging/formats.ts';
import { delivered, deliveryHeaders, deliveryQuery, imageAnswer, imageHeaders } from '../lib/http/contract/image-bytes.ts';
import { nextOf, pageLimit, pathSegment } from '../lib/http/contract/parameters.ts';
import { always, badQuery, failure, SIGNATURE_REFUSED } from '../lib/http/contract/refusals.ts';
import { presetQuery, transformQuery } from '../lib/http/contract/transform-query.ts';
import { AUTO_EXTENSION } from './header-choice.ts';
import { imageStatusSchema } from './image-record.ts';

/** GET /v1/images: which images, and which page. */
export const listQuery = z.object({
  status: imageStatusSchema.optional(),
  cursor: nextOf(imageIdSchema),
  limit: pageLimit(100, 50),
});

const nullable = <T extends z.ZodType>(schema: T) => schema.nullable();
const at = z.iso.datetime({ offset: true });
const stage = <T extends z.ZodRawShape>(extra: T) =>
  z.object({ state: z.enum(['done', 'failed', 'pending']), at: at.nullable(), ...extra });

/** An image's metadata and the state of every stage (catalog/image-view.ts makes it; the client's `Image`). */
export const imageSchema = z
  .object({
    id: z.uuid(),
    status: z.enum(IMAGE_STATUSES),
    createdAt: at,
    updatedAt: at,
    format: nullable(z.string()),
    width: nullable(z.int()),
    height: nullable(z.int()),
    bytes: nullable(z.int()),
    pages: nullable(z.int()),
    original: z
      .object({
        format: z.string(),
        contentType: z.string(),
        bytes: z.int(),
        sha256: z.string(),
        width: z.int(),
        height: z.int(),
        filename: nullable(z.string()),
      })
      .nullable(),
    expiresAt: at.nullable().meta({ description: 'When an upload with a time to live is deleted' }),
    stages: z.object({
      upload: stage({}),
      scan: stage({
        verdict: z.enum(['clean', 'infected', 'unscanned']).nullable(),
        signatures: z.array(z.string()),
        engine: nullable(z.string()),
        signatureVersion: nullable(z.string()),
      }),
      strip: stage({}),
      compress: stage({ bytesBefore: nullable(z.int()), bytesAfter: nullable(z.int()), kept: nullable(z.boolean()) }),
      variants: stage({}),
    }),
    failure: z.object({ stage: z.string(), reason: z.string(), at }).nullable(),
    variants: z.array(
      z.object({ name: z.string(), format: z.enum(OUTPUT_FORMATS), width: z.int(), height: z.int(), bytes: z.int(), url: z.string() }),
    ),
    links: z.object({ self: z.string(), image: z.string().exactOptional() }),
  })
  .meta({ id: 'Image' }) satisfies z.ZodType<Image>;

const imagePageSchema = z.object({ images: z.array(imageSchema), next: z.string().nullable() }).meta({ id: 'ImagePage' });

const imagePath = z.object({ id: imageIdSchema.meta({ description: 'The image id' }) });
const noImage = { '404': failure('no such image', ['not_found']) };

/** What GET of a stored image's bytes may answer besides 200 and the delivery's own. */
export const servedImageFailures = {
  ...noImage,
  '409': failure('still in the pipeline; Retry-After says when to ask again', ['not_ready']),
  '410': failure('quarantined: the scan found something', ['infected']),
  '422': failure('a stage gave up on it', ['processing_failed']),
};

/** GET /v1/images/ID.EXT: the transform options of the query (all but format, which the extension names). */
const { format: _format, ...imageTransformOptions } = transformQuery.shape;

export const imagePaths: ZodOpenApiPathsObject = {
  '/v1/images': {
    get: {
      operationId: 'listImages',
      summary: 'Stored images, a page at a time',
      requestParams: { query: listQuery },
      responses: {
        '200': { description: 'One page', content: { 'application/json': { schema: imagePageSchema } } },
        ...badQuery(),
        ...always,
      },
    },
  },
  '/v1/images/{id}': {
    get: {
      operationId: 'getImage',
      summary: "An image's metadata and the state of every stage",
      requestParams: { path: imagePath },
      responses: { '200': { description: 'The image', content: { 'application/json': { schema: imageSchema } } }, ...noImage, ...always },
    },
    delete: {
      operationId: 'deleteImage',
      summary: 'Deletes the image and everything made from it',
      requestParams: { path: imagePath },
      responses: { '204': { description: 'Deleted' }, ...noImage, ...always },
    },
  },
  '/v1/images/{id}.{extension}': {
    get: {
      operationId: 'getImageAs',
      summary: 'The image in a format, transformed by the query (made on the first request, stored, served from the store after)',
      requestParams: {
        path: imagePath.extend({
          extension: z.enum([...SUPPORTED_EXTENSIONS, AUTO_EXTENSION]).meta({
            description:
              "The format; auto: AVIF or WebP when Accept names it (q above 0), else the image's own (JPEG, PNG or GIF), with Vary: Accept",
          }),
        }),
        query: presetQuery.extend(imageTransformOptions).extend(deliveryQuery.shape),
        header: deliveryHeaders.extend({
          Accept: z.string().optional().meta({ description: 'For the extension auto: the formats the client takes' }),
          'Sec-CH-DPR': z.string().optional().meta({ description: 'For dpr=auto (also DPR): the device pixel ratio, 1 to 4' }),
          'Sec-CH-Width': z
            .string()
            .optional()
            .meta({ description: 'For dpr=auto without width or height (also Width): the laid-out width in device pixels' }),
        }),
      },
      responses: {
        ...delivered,
        '200': imageAnswer(
          'The image',
          imageHeaders.extend({
            Vary: z.string().optional().meta({
              description:
                'For auto: Accept; for dpr=auto: Sec-CH-DPR, DPR (and Sec-CH-Width, Width without a size); Origin for listed image origins',
            }),
            'Accept-CH': z.string().optional().meta({ description: 'For dpr=auto: Sec-CH-DPR, Sec-CH-Width' }),
          }),
        ),
        '400': failure('a bad extension, transformation or query, or a format that cannot hold the output', [
          'unsupported_extension',
          'invalid_transform',
          'output_too_large',
          'format_limit_exceeded',
          'invalid_query',
        ]),
        ...servedImageFailures,
        '422': failure('a stage gave up on it, or the transformation is estimated to cost more than allowed', [
          'processing_failed',
          'too_costly',
        ]),
        '503': failure(
          'past the transformation deadline, or too many transformations waiting, or the wait for a turn would pass the deadline (Retry-After)',
          ['transform_timeout', 'overloaded'],
        ),
        ...always,
        '403': failure('only presets may be stored, or a signed URL is refused', ['presets_only', ...SIGNATURE_REFUSED]),
      },
    },
  },
  '/v1/images/{id}/variants/{file}': {
    get: {
      operationId: 'getVariant',
      summary: 'A preset of the image, e.g. thumbnail.webp',
      requestParams: {
        path: imagePath.extend({ file: pathSegment('NAME.EXT: a preset and a format') }),
        query: deliveryQuery,
        header: deliveryHeaders,
      },
      responses: {
        '200': imageAnswer('The variant'),
        ...delivered,
        '400': failure('download given more than once, or a format that cannot hold the preset', [
          'invalid_query',
          'format_limit_exceeded',
        ]),
        ...servedImageFailures,
        '404': failure('no such image or variant', ['not_found', 'no_such_variant']),
        ...always,
      },
    },
  },
};
