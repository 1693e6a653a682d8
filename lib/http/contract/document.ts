import { createDocument, type ZodOpenApiPathsObject } from 'zod-openapi';
import { always } from './refusals.ts';

/** Paths of several services in one: the operations of a path that two of them serve (GET and POST /v1/images) side by side. */
export function mergePaths(parts: readonly ZodOpenApiPathsObject[]): ZodOpenApiPathsObject {
  const merged: ZodOpenApiPathsObject = {};
  for (const part of parts) {
    for (const [path, item] of Object.entries(part)) merged[path] = { ...merged[path], ...item };
  }
  return merged;
}

const documentPaths: ZodOpenApiPathsObject = {
  '/v1/openapi.json': {
    get: {
      operationId: 'openApi',
      summary: 'This document, generated from the schemas the routes validate with',
      responses: { '200': { description: 'OpenAPI 3.1', content: { 'application/json': { schema: { type: 'object' } } } }, ...always },
    },
  },
  '/v1/asyncapi.json': {
    get: {
      operationId: 'asyncApi',
      summary: 'The AsyncAPI document of the public Kafka topics (ingest.requested, progimage.outcomes.v1)',
      responses: { '200': { description: 'AsyncAPI 3.0', content: { 'application/json': { schema: { type: 'object' } } } }, ...always },
    },
  },
};

/**
 * The OpenAPI 3.1 document of the HTTP API, built from the services' contracts:
 * the zod schemas their routes validate requests with, and those of their answers.
 */
export function openApiDocument(paths: readonly ZodOpenApiPathsObject[]): object {
  return createDocument({
    openapi: '3.1.0',
    info: {
      title: 'ProgImage',
      version: '1',
      description:
        'Image storage and processing: upload, virus-scan, strip, compress, transform and serve images. Every error is JSON {"error": {code, message, …details}}. ' +
        'Every API request carries an API key (Authorization: Bearer KEY), or is a signed URL (query parameters tenant, expires and signature); ' +
        'admin operations (/v1/admin) carry the admin token instead.',
    },
    security: [{ apiKey: [] }],
    paths: mergePaths([...paths, documentPaths]),
    components: {
      securitySchemes: {
        apiKey: { type: 'http', scheme: 'bearer', description: "A tenant's API key" },
        adminToken: { type: 'http', scheme: 'bearer', description: 'PROGIMAGE_ADMIN_TOKEN (admin operations only)' },
        adminTokenHeader: {
          type: 'apiKey',
          in: 'header',
          name: 'X-ProgImage-Admin-Token',
          description: 'PROGIMAGE_ADMIN_TOKEN (admin operations only)',
        },
      },
    },
  });
}
