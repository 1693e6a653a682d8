import { z } from 'zod';
import type { ZodOpenApiPathsObject, ZodOpenApiResponsesObject } from 'zod-openapi';
import { signedUrlRequestSchema, signedUrlSchema } from '../lib/auth/signed-urls.ts';
import { KEY_HASH } from '../lib/auth/tenants.ts';
import { tenantBacklogSchema } from '../lib/backlog/tenant-backlog.ts';
import { pathSegment } from '../lib/http/contract/parameters.ts';
import { ADMIN, adminRefused, badQuery, BODY_REFUSED, failure } from '../lib/http/contract/refusals.ts';
import {
  keyToRevokeSchema,
  newIngestCredentialSchema,
  newKeySchema,
  newTenantSchema,
  pageQuerySchema,
  rotationSchema,
  tenantSettingsChangesSchema,
} from './requests.ts';
import {
  apiKeyViewSchema,
  createdIngestCredentialSchema,
  createdKeySchema,
  createdTenantSchema,
  ingestCredentialPageSchema,
  ingestCredentialViewSchema,
  keyPageSchema,
  rotatedTenantSchema,
  tenantPageSchema,
  tenantViewSchema,
} from './views.ts';

const json = (schema: z.ZodType) => ({ 'application/json': { schema } });
const tenantPath = z.object({ name: pathSegment('The tenant') });
const noTenant = { '404': failure('no such tenant', ['tenant_not_found']) };
const badBody = (description = 'a body that is not valid') => ({ '400': failure(description, BODY_REFUSED) });
/** An admin operation on a tenant: its name in the path, refused when there is no such tenant. */
const onTenant = (responses: ZodOpenApiResponsesObject) => ({
  ...ADMIN,
  requestParams: { path: tenantPath },
  responses: { ...responses, ...noTenant, ...adminRefused },
});

export const adminPaths: ZodOpenApiPathsObject = {
  '/v1/admin/tenants': {
    get: {
      ...ADMIN,
      operationId: 'listTenants',
      summary: 'The tenants, a page at a time, by name',
      requestParams: { query: pageQuerySchema },
      responses: { '200': { description: 'One page', content: json(tenantPageSchema) }, ...badQuery(), ...adminRefused },
    },
    post: {
      ...ADMIN,
      operationId: 'createTenant',
      summary: 'A tenant (unlimited in what the body does not name) and its first API key, which this answer alone shows',
      requestBody: { required: true, content: json(newTenantSchema) },
      responses: {
        '201': { description: 'Created; Location names the tenant', content: json(createdTenantSchema) },
        ...badBody('a body that is not valid; the message names the field'),
        '409': failure('a tenant of that name exists', ['tenant_exists']),
        ...adminRefused,
      },
    },
  },
  '/v1/admin/tenants/{name}': {
    get: {
      ...onTenant({ '200': { description: 'The tenant', content: json(tenantViewSchema) } }),
      operationId: 'getTenant',
      summary: "A tenant's settings, and when its signing secrets were made and retire (never the secrets)",
    },
    patch: {
      ...onTenant({
        '200': { description: 'The tenant as it now is', content: json(tenantViewSchema) },
        ...badBody('a body that is not valid; the message names the field'),
      }),
      operationId: 'updateTenant',
      summary: 'Changes the settings the body names (null lifts a limit); gatekeepers see them within PROGIMAGE_AUTH_CACHE_MS',
      requestBody: { required: true, content: json(tenantSettingsChangesSchema) },
    },
  },
  '/v1/admin/tenants/{name}/pipeline': {
    get: {
      ...onTenant({ '200': { description: 'As counted now', content: json(tenantBacklogSchema) } }),
      operationId: 'getTenantPipeline',
      summary: "The tenant's images in the pipeline, by the stage they wait for, and its limit of them",
    },
  },
  '/v1/admin/tenants/{name}/keys': {
    get: {
      ...onTenant({ '200': { description: 'One page', content: json(keyPageSchema) }, ...badQuery() }),
      requestParams: { path: tenantPath, query: pageQuerySchema },
      operationId: 'listApiKeys',
      summary: "The tenant's API keys (their sha256, never the keys), a page at a time",
    },
    post: {
      ...onTenant({ '201': { description: 'The new key', content: json(createdKeySchema) }, ...badBody() }),
      operationId: 'createApiKey',
      summary: 'Another API key for the tenant, which this answer alone shows',
      requestBody: { required: true, content: json(newKeySchema) },
    },
  },
  '/v1/admin/tenants/{name}/signing-secret': {
    post: {
      ...onTenant({
        '200': { description: 'The tenant as it now is, and its new signing secret', content: json(rotatedTenantSchema) },
        ...badBody(),
      }),
      operationId: 'rotateSigningSecret',
      summary: 'A new signing secret, which this answer alone shows; the current one keeps verifying for graceSeconds (0: retired at once)',
      requestBody: { required: true, content: json(rotationSchema) },
    },
  },
  '/v1/admin/tenants/{name}/signed-urls': {
    post: {
      ...onTenant({
        '201': { description: 'The signed URL (a path and query)', content: json(signedUrlSchema) },
        ...badBody('not the path of image bytes, or a bad expiry'),
      }),
      operationId: 'signUrlForTenant',
      summary: "A URL of image bytes signed with the tenant's current secret, as POST /v1/signed-urls makes for the tenant itself",
      requestBody: { required: true, content: json(signedUrlRequestSchema) },
    },
  },
  '/v1/admin/tenants/{name}/ingest-credentials': {
    get: {
      ...onTenant({ '200': { description: 'One page', content: json(ingestCredentialPageSchema) }, ...badQuery() }),
      requestParams: { path: tenantPath, query: pageQuerySchema },
      operationId: 'listIngestCredentials',
      summary: "The tenant's ingest credentials (their key ids, never the secrets), a page at a time",
    },
    post: {
      ...onTenant({ '201': { description: 'The new credential', content: json(createdIngestCredentialSchema) }, ...badBody() }),
      operationId: 'createIngestCredential',
      summary: "A credential an upstream system signs the tenant's Kafka ingest requests with; this answer alone shows its secret",
      requestBody: { required: true, content: json(newIngestCredentialSchema) },
    },
  },
  '/v1/admin/ingest-credentials/{keyId}': {
    delete: {
      ...ADMIN,
      operationId: 'revokeIngestCredential',
      summary: 'Revokes the ingest credential: requests signed with it are rejected from now on',
      requestParams: { path: z.object({ keyId: pathSegment('The key id (ing_…)') }) },
      responses: {
        '200': { description: 'The credential, revoked', content: json(ingestCredentialViewSchema) },
        '404': failure('no such credential', ['credential_not_found']),
        ...adminRefused,
      },
    },
  },
  '/v1/admin/keys/{sha256}': {
    delete: {
      ...ADMIN,
      operationId: 'revokeApiKey',
      summary: 'Revokes the key of this sha256 (hex); gatekeepers refuse it within PROGIMAGE_AUTH_CACHE_MS',
      requestParams: {
        path: z.object({
          sha256: z
            .string()
            .regex(KEY_HASH)
            .meta({ description: 'The sha256 of the key, in lower-case hex', examples: ['0'.repeat(64)] }),
        }),
      },
      responses: {
        '200': { description: 'The key, revoked', content: json(apiKeyViewSchema) },
        '404': failure('no such key', ['key_not_found']),
        ...adminRefused,
      },
    },
  },
  '/v1/admin/keys/revoke': {
    post: {
      ...ADMIN,
      operationId: 'revokeApiKeyByKey',
      summary: 'Revokes the key in the body (kept out of the URL, which logs keep)',
      requestBody: { required: true, content: json(keyToRevokeSchema) },
      responses: {
        '200': { description: 'The key, revoked', content: json(apiKeyViewSchema) },
        ...badBody(),
        '404': failure('no such key', ['key_not_found']),
        ...adminRefused,
      },
    },
  },
};
