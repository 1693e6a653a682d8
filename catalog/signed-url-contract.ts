import type { ZodOpenApiPathsObject } from 'zod-openapi';
import { signedUrlRequestSchema, signedUrlSchema } from '../lib/auth/signed-urls.ts';
import { always, BODY_REFUSED, failure } from '../lib/http/contract/refusals.ts';

export const signedUrlPaths: ZodOpenApiPathsObject = {
  '/v1/signed-urls': {
    post: {
      operationId: 'signUrl',
      summary: "A URL of image bytes anyone may GET until it expires, signed with the tenant's current secret",
      requestBody: { required: true, content: { 'application/json': { schema: signedUrlRequestSchema } } },
      responses: {
        '201': { description: 'The signed URL (a path and query)', content: { 'application/json': { schema: signedUrlSchema } } },
        '400': failure('not the path of image bytes, or a bad expiry', BODY_REFUSED),
        ...always,
      },
    },
  },
};
