import { z } from 'zod';
import type { ZodOpenApiPathsObject, ZodOpenApiRequestBodyObject } from 'zod-openapi';
import { tenantBacklogSchema } from '../lib/backlog/tenant-backlog.ts';
import { MAX_TTL_SECONDS } from '../lib/events/payloads.ts';
import { binarySchema, uploadedBytesSchema } from '../lib/http/contract/image-bytes.ts';
import { fetchableUrl, idempotencyHeaders } from '../lib/http/contract/parameters.ts';
import { always, failure, SIGNATURE_REFUSED, URL_REFUSED } from '../lib/http/contract/refusals.ts';
import { transformQuery } from '../lib/http/contract/transform-query.ts';
import { MAX_FILES_PER_REQUEST } from './read-upload.ts';

const MAX_URLS_PER_REQUEST = 100;

/** The JSON form of an upload: images to fetch from URLs. */
export const urlUploadSchema = z.union(
  [z.object({ url: fetchableUrl() }).strict(), z.object({ urls: z.array(fetchableUrl()).min(1).max(MAX_URLS_PER_REQUEST) }).strict()],
  { error: `expected {"url": "…"} or {"urls": ["…", …]} with 1-${MAX_URLS_PER_REQUEST} URLs` },
);

/** The JSON form of a transformation: the URL of the image, and the options beside it. */
export const remoteTransformSchema = z.object({ url: fetchableUrl() }).catchall(z.unknown()).meta({
  description: 'The URL of the image, and transform options beside it: canonical names or aliases, values as numbers, booleans or text',
});

/** Seconds until an upload is deleted: a whole number of seconds, as the query or the header gives it. */
export const ttlSchema = z
  .string()
  .regex(/^\d+$/)
  .transform(Number)
  .pipe(z.number().int().min(1).max(MAX_TTL_SECONDS))
  .meta({ override: { type: 'integer', minimum: 1, maximum: MAX_TTL_SECONDS } });
export const TTL_HEADER = 'X-ProgImage-TTL';

const uploadedImageSchema = z
  .object({
    id: z.uuid(),
    status: z.literal('uploaded'),
    links: z.object({
      self: z.string(),
      webp: z.string().optional().meta({ description: "Absent for an image past WebP's 16383 pixels a side" }),
    }),
    expectedWaitSeconds: z.int().min(60).max(86_400).optional().meta({
      description: 'Present when the pipeline is long (60 s or more): about how long until the images ahead of this one are done',
    }),
  })
  .meta({ id: 'UploadedImage' });

/** What an upload (up to MAX_FILES_PER_REQUEST files) or a transformation (one) takes: the image as the body, as multipart, or the JSON of URLs. */
const imageBodies = (json: z.ZodType, maxFiles: number): ZodOpenApiRequestBodyObject => ({
  required: true,
  content: {
    'multipart/form-data': {
      schema: z.object({
        file: maxFiles === 1 ? uploadedBytesSchema : z.union([uploadedBytesSchema, z.array(uploadedBytesSchema).min(1).max(maxFiles)]),
      }),
    },
    'application/octet-stream': { schema: uploadedBytesSchema },
    'image/*': { schema: uploadedBytesSchema },
    'application/json': { schema: json },
  },
});
const notAnImage = failure('not an image in an accepted format, data after its end, or a declared type the content contradicts', [
  'unsupported_media_type',
  'trailing_data',
  'type_mismatch',
]);
const remoteFailed = failure('the URL answered an error', ['remote_error', 'remote_unreachable']);
const remoteTimedOut = failure('the URL did not answer in time', ['remote_timeout']);
const tooLarge = failure('over the upload limit', ['payload_too_large']);

export const ingestPaths: ZodOpenApiPathsObject = {
  '/v1/images': {
    post: {
      operationId: 'uploadImages',
      summary: 'Store one image (raw body), many (multipart field "file"), or images at URLs (JSON {url} or {urls})',
      requestParams: {
        header: idempotencyHeaders.extend({
          [TTL_HEADER]: ttlSchema
            .optional()
            .meta({ description: 'Seconds until the image is deleted (or ?ttl=, which wins when both are given)' }),
        }),
        query: z.object({
          ttl: ttlSchema.optional().meta({
            description:
              "Seconds until the image is deleted (or the header X-ProgImage-TTL; given both ways, each must be valid and this one wins). Without either: the tenant's default time to live, else the service's, else until deleted",
          }),
        }),
      },
      requestBody: imageBodies(urlUploadSchema, MAX_FILES_PER_REQUEST),
      responses: {
        '202': {
          description: 'Stored, and in the pipeline',
          content: { 'application/json': { schema: z.union([uploadedImageSchema, z.object({ images: z.array(uploadedImageSchema) })]) } },
        },
        '400': failure('a malformed request or a URL that will not be fetched', [
          'invalid_idempotency_key',
          'invalid_ttl',
          'malformed_multipart',
          'no_file',
          'unreadable_body',
          'invalid_json',
          'invalid_body',
          ...URL_REFUSED,
        ]),
        '413': tooLarge,
        '415': notAnImage,
        '422': failure('an image that cannot be accepted, or more images than the tenant may have in the pipeline', [
          'unreadable_image',
          'truncated_image',
          'too_many_pixels',
          'too_many_frames',
          'unsafe_svg',
          'idempotency_key_reused',
          'too_many_images',
        ]),
        '502': remoteFailed,
        '504': remoteTimedOut,
        ...always,
        '403': failure("storing it would pass the tenant's storage quota, or a signed URL is refused", [
          'storage_quota_exceeded',
          ...SIGNATURE_REFUSED,
        ]),
        '429': {
          ...failure(
            "over the tenant's request rate, or at its limit of images in the pipeline (body: limit, inFlight, requested); Retry-After says when to try again",
            ['rate_limited', 'too_many_in_flight'],
          ),
          headers: z.object({
            'Retry-After': z
              .int()
              .min(1)
              .meta({ description: "Seconds: for too_many_in_flight, from the rate the pipeline drains the tenant's images, 1 to 60" }),
          }),
        },
      },
    },
  },
  '/v1/transform': {
    post: {
      operationId: 'transform',
      summary: 'Transforms the image in the body (options in the query) or at a URL (JSON {url, ...options}); nothing is stored',
      requestParams: { query: transformQuery },
      requestBody: imageBodies(remoteTransformSchema, 1),
      responses: {
        '200': { description: 'The transformed image', content: { 'image/*': { schema: binarySchema } } },
        '400': failure('a bad transformation or request', [
          'invalid_transform',
          'output_too_large',
          'format_limit_exceeded',
          'one_image',
          'malformed_multipart',
          'no_file',
          'invalid_json',
          'invalid_body',
          ...URL_REFUSED,
        ]),
        '413': tooLarge,
        '415': notAnImage,
        '422': failure('an image that cannot be transformed', [
          'unreadable_image',
          'too_many_pixels',
          'too_many_frames',
          'unsafe_svg',
          'infected',
          'output_too_large',
          'unprocessable_image',
          'too_costly',
        ]),
        '502': remoteFailed,
        '503': failure('past the deadline, too many transformations waiting, or the scanner is not answering (Retry-After)', [
          'transform_timeout',
          'overloaded',
          'scan_unavailable',
        ]),
        '504': remoteTimedOut,
        ...always,
      },
    },
  },
  '/v1/pipeline': {
    get: {
      operationId: 'getPipeline',
      summary: "The tenant's images in the pipeline by the stage they wait for, its limit of them, and the pipeline's expected wait",
      responses: {
        '200': {
          description: 'As last counted',
          content: {
            'application/json': {
              schema: tenantBacklogSchema.extend({
                expectedWaitSeconds: z.int().min(0).max(86_400).nullable().meta({
                  description:
                    'Until every image now in the pipeline is done, at the rate it drains (at most 86400); null while there is nothing to go by',
                }),
              }),
            },
          },
        },
        ...always,
      },
    },
  },
};
