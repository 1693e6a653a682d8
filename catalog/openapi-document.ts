import { MAX_CORS_ORIGINS } from '../lib/auth/tenants.ts';
import { OUTCOME_TYPES } from '../lib/events/outcomes.ts';
import { OPTION_ALIASES, OUTPUT_FORMATS, TRANSFORM_OPTION_NAMES } from '@progimage/transform-language';
import { imageStatusSchema } from './image-record.ts';

/**
 * The OpenAPI 3.1 document of the whole HTTP API (every service's routes, ingest's too),
 * served at GET /v1/openapi.json. test/sdk/openapi.test.ts checks that every
 * registered route is in it and that real answers validate against it.
 */

type Schema = Readonly<Record<string, unknown>>;

const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: Schema) => ({ 'application/json': { schema } });
const binary: Schema = { type: 'string', contentMediaType: 'application/octet-stream' };
const nullable = (type: string): Schema => ({ type: [type, 'null'] });
const object = (properties: Readonly<Record<string, Schema>>, extra: Schema = {}): Schema => ({
  type: 'object',
  required: Object.keys(properties),
  properties,
  ...extra,
});

/** An error answer: `{"error": {code, message, …details}}`, its codes listed. */
const failure = (description: string, codes: readonly string[]) => ({
  description: `${description} (codes: ${codes.join(', ')})`,
  content: json(ref('Error')),
});
const SIGNATURE_REFUSED = ['signature_invalid', 'signature_expired', 'signature_required'];
const presetsOnly = { '403': failure('only presets may be stored, or a signed URL is refused', ['presets_only', ...SIGNATURE_REFUSED]) };
const overQuota = { '403': failure("storing it would pass the tenant's storage quota, or a signed URL is refused", ['storage_quota_exceeded', ...SIGNATURE_REFUSED]) };

/** What any API operation may answer: refusals of its credentials, its tenant's rate, and any other failure. */
const always = {
  '401': failure('no API key, or one that is not valid', ['unauthenticated']),
  '403': failure('a signed URL that does not match, has expired, or is required', SIGNATURE_REFUSED),
  '429': failure("over the tenant's request rate; Retry-After says when to try again", ['rate_limited']),
  default: failure('any other failure: a crash, a server it depends on not answering (503, Retry-After), a method the path does not take (405 with Allow, 501), a request HTTP cannot parse or too slow to arrive', ['internal_error', 'dependency_unavailable', 'method_not_allowed', 'not_implemented', 'not_found', 'malformed_request', 'request_timeout', 'headers_too_large']),
};
/** Health and metrics answer without credentials. */
const open = { security: [] };

/** Admin operations are admitted by PROGIMAGE_ADMIN_TOKEN alone (as a bearer token or in X-ProgImage-Admin-Token), never by an API key; never cached. */
const admin = { security: [{ adminToken: [] }, { adminTokenHeader: [] }] };
const adminRefused = {
  '401': failure("no admin token, or a wrong one (a tenant's API key is one)", ['admin_token_required', 'admin_token_invalid']),
  '403': failure('the admin API is off: PROGIMAGE_ADMIN_TOKEN is not set', ['admin_disabled']),
  default: always.default,
};
const BODY_REFUSED = ['invalid_json', 'invalid_body', 'unreadable_body'];

const URL_REFUSED = ['address_refused', 'url_scheme_refused', 'url_invalid', 'url_credentials_refused', 'too_many_redirects', 'redirect_downgrade_refused', 'host_unresolvable'];

const idParameter = (name: string, description: string) => ({ name, in: 'path', required: true, description, schema: { type: 'string' } });
/** The page size of a listing: from 1 to `maximum`, `byDefault` when not given. */
const limitParameter = (maximum: number, byDefault: number) => ({ name: 'limit', in: 'query', required: false, schema: { type: 'integer', minimum: 1, maximum, default: byDefault } });
const tenantName = idParameter('name', 'The tenant');
const noTenant = { '404': failure('no such tenant', ['tenant_not_found']) };
const cursorParameter = { name: 'cursor', in: 'query', required: false, description: 'The next of the previous page', schema: { type: 'string' } };
const idempotencyKey = {
  name: 'Idempotency-Key',
  in: 'header',
  required: false,
  description: 'A retry with the same key answers as the first request did and stores nothing twice; 1-255 visible ASCII characters',
  schema: { type: 'string', minLength: 1, maxLength: 255 },
};

const webhookId = idParameter('id', 'The webhook id');
const noWebhook = { '404': failure('no such webhook', ['webhook_not_found']) };

/** The transform language in a query: every option under its canonical name (aliases are accepted too). */
const aliasesOf = (name: string) => Object.entries(OPTION_ALIASES).filter(([, canonical]) => canonical === name).map(([alias]) => alias);
const transformParameters = TRANSFORM_OPTION_NAMES.map((name) => {
  const aliases = aliasesOf(name);
  return {
    name,
    in: 'query',
    required: false,
    description: `Transform option ${name} (see README "Transform")${aliases.length === 0 ? '' : `; also spelt ${aliases.join(', ')}`}`,
    schema: { type: 'string' },
  };
});
const presetParameter = { name: 'preset', in: 'query', required: false, description: "A configured preset's options (the request's own options on top)", schema: { type: 'string' } };

/** The headers of image bytes (docs/api.md, "Headers and caching"); HEAD answers them without the body. */
const imageHeaders = {
  ETag: { schema: { type: 'string' } },
  'Last-Modified': { schema: { type: 'string' } },
  'Cache-Control': { description: 'A year and immutable; for a signed URL, no longer than it is valid', schema: { type: 'string' } },
  'Accept-Ranges': { schema: { const: 'bytes' } },
  'Content-Disposition': { description: 'With ?download: attachment, with a safe file name', schema: { type: 'string' } },
};
const imageAnswer = (description: string) => ({ description, headers: imageHeaders, content: { 'image/*': { schema: binary } } });
/** What every GET of image bytes may answer besides 200: 206, 304 and 416, and 400 for a download named twice. */
const delivered = {
  '206': {
    description: 'The one range the Range header asks for (unless If-Range names another version)',
    headers: { ...imageHeaders, 'Content-Range': { schema: { type: 'string' } } },
    content: { 'image/*': { schema: binary } },
  },
  '304': { description: 'If-None-Match named the current ETag, or (without If-None-Match) If-Modified-Since is not before Last-Modified' },
  '400': failure('download given more than once', ['invalid_query']),
  '416': failure('the Range asks for none of the bytes; Content-Range: bytes */SIZE', ['range_not_satisfiable']),
};
const headerParameter = (name: string, description: string) => ({ name, in: 'header', required: false, description, schema: { type: 'string' } });
/** What a GET of image bytes may send besides its path: a download name, ranges, conditions. */
const deliveryParameters = [
  { name: 'download', in: 'query', required: false, description: 'Save as a file: Content-Disposition attachment with this name (made safe, its extension the format\'s); empty for the image id', schema: { type: 'string' } },
  headerParameter('Range', 'One byte range (bytes=START-END, START-, -LENGTH); several are answered with the whole image'),
  headerParameter('If-Range', 'An ETag or Last-Modified date: the range only if the image is still that one'),
  headerParameter('If-None-Match', 'ETags the client has: 304 for the current one'),
  headerParameter('If-Modified-Since', 'Without If-None-Match: 304 unless modified since'),
];
const servedImageFailures = {
  '404': failure('no such image', ['not_found']),
  '409': failure('still in the pipeline; Retry-After says when to ask again', ['not_ready']),
  '410': failure('quarantined: the scan found something', ['infected']),
  '422': failure('a stage gave up on it', ['processing_failed']),
};

/** What an upload or a transformation takes: the image as the body, as multipart, or the JSON of URLs. */
const imageBodies = (jsonSchema: Schema) => ({
  required: true,
  content: {
    'multipart/form-data': {
      schema: object({ file: { oneOf: [binary, { type: 'array', items: binary }] } }),
    },
    'application/octet-stream': { schema: binary },
    'image/*': { schema: binary },
    'application/json': { schema: jsonSchema },
  },
});

const stage = (extra: Readonly<Record<string, Schema>> = {}) =>
  object({ state: { enum: ['done', 'failed', 'pending'] }, at: nullable('string'), ...extra });

/** What a tenant's settings may be set to. */
const tenantSettings: Readonly<Record<string, Schema>> = {
  requestsPerSecond: { type: ['number', 'null'], exclusiveMinimum: 0, description: 'Requests per second each process accepts from the tenant' },
  storedBytesQuota: { type: ['integer', 'null'], minimum: 1, description: 'Bytes of originals the tenant may keep stored' },
  imagesInFlightLimit: { type: ['integer', 'null'], minimum: 1, description: 'Images the tenant may have in the pipeline (not final yet); past it, uploads are refused with 429 too_many_in_flight' },
  signedGetsOnly: { type: 'boolean', description: 'Image bytes are served through signed URLs only' },
  defaultTtlSeconds: { type: ['integer', 'null'], minimum: 1, maximum: 315_360_000, description: "How long its uploads that name no ttl live (null: the service's default)" },
  corsOrigins: {
    type: 'array',
    maxItems: MAX_CORS_ORIGINS,
    items: { type: 'string', format: 'uri' },
    description: 'The web pages (origins, e.g. https://app.example.com) that may call the JSON API with its keys, besides PROGIMAGE_CORS_API_ORIGINS',
  },
};

const schemas: Readonly<Record<string, Schema>> = {
  Error: object({
    error: object({ code: { type: 'string' }, message: { type: 'string' } }, { additionalProperties: true, description: 'plus details, e.g. option, supported, maxBytes' }),
  }),
  UploadedImage: object({
    id: { type: 'string', format: 'uuid' },
    status: { const: 'uploaded' },
    links: object({ self: { type: 'string' }, webp: { type: 'string', description: "Absent for an image past WebP's 16383 pixels a side" } }, { required: ['self'] }),
    expectedWaitSeconds: { type: 'integer', minimum: 60, maximum: 86_400, description: 'Present when the pipeline is long (60 s or more): about how long until the images ahead of this one are done' },
  }, { required: ['id', 'status', 'links'] }),
  UploadedImages: object({ images: { type: 'array', items: ref('UploadedImage') } }),
  Image: object({
    id: { type: 'string', format: 'uuid' },
    status: { enum: imageStatusSchema.options },
    createdAt: { type: 'string', format: 'date-time' },
    updatedAt: { type: 'string', format: 'date-time' },
    format: nullable('string'),
    width: nullable('integer'),
    height: nullable('integer'),
    bytes: nullable('integer'),
    pages: nullable('integer'),
    original: {
      oneOf: [
        { type: 'null' },
        object({
          format: { type: 'string' },
          contentType: { type: 'string' },
          bytes: { type: 'integer' },
          sha256: { type: 'string' },
          width: { type: 'integer' },
          height: { type: 'integer' },
          filename: nullable('string'),
        }),
      ],
    },
    expiresAt: { type: ['string', 'null'], format: 'date-time', description: 'When an upload with a time to live is deleted' },
    stages: object({
      upload: stage(),
      scan: stage({
        verdict: { enum: ['clean', 'infected', 'unscanned', null] },
        signatures: { type: 'array', items: { type: 'string' } },
        engine: nullable('string'),
        signatureVersion: nullable('string'),
      }),
      strip: stage(),
      compress: stage({ bytesBefore: nullable('integer'), bytesAfter: nullable('integer'), kept: nullable('boolean') }),
      variants: stage(),
    }),
    failure: { oneOf: [{ type: 'null' }, object({ stage: { type: 'string' }, reason: { type: 'string' }, at: { type: 'string', format: 'date-time' } })] },
    variants: {
      type: 'array',
      items: object({
        name: { type: 'string' },
        format: { enum: OUTPUT_FORMATS },
        width: { type: 'integer' },
        height: { type: 'integer' },
        bytes: { type: 'integer' },
        url: { type: 'string' },
      }),
    },
    links: { type: 'object', required: ['self'], properties: { self: { type: 'string' }, image: { type: 'string' } } },
  }),
  ImagePage: object({ images: { type: 'array', items: ref('Image') }, next: nullable('string') }),
  TransformOptions: {
    type: 'object',
    description: 'The transform language as JSON: canonical names or aliases, values as numbers, booleans or text',
    propertyNames: { enum: [...TRANSFORM_OPTION_NAMES, ...Object.keys(OPTION_ALIASES), 'preset'] },
  },
  BatchRequest: {
    type: 'object',
    required: ['transforms'],
    properties: {
      images: { type: 'array', items: { type: 'string' }, minItems: 1, maxItems: 10_000 },
      urls: { type: 'array', items: { type: 'string', maxLength: 4096 }, minItems: 1, maxItems: 10_000 },
      transforms: { type: 'array', items: ref('TransformOptions'), minItems: 1, maxItems: 10 },
      store: { type: 'boolean', default: true },
    },
    oneOf: [{ required: ['images'] }, { required: ['urls'] }],
    additionalProperties: false,
  },
  Batch: object({
    id: { type: 'string', format: 'uuid' },
    status: { enum: ['accepting', 'running', 'completed'] },
    createdAt: { type: 'string', format: 'date-time' },
    store: { type: 'boolean' },
    transforms: { type: 'array', items: { type: 'object' } },
    counts: object({ total: { type: 'integer' }, done: { type: 'integer' }, failed: { type: 'integer' }, pending: { type: 'integer' } }),
    links: object({ self: { type: 'string' }, events: { type: 'string' } }),
  }),
  BatchItem: object({
    index: { type: 'integer' },
    status: { enum: ['done', 'failed'] },
    completedAt: { type: 'string', format: 'date-time' },
    failure: { oneOf: [{ type: 'null' }, object({ code: { type: 'string' }, reason: { type: 'string' } })] },
    results: {
      type: 'array',
      items: object({
        transform: { type: 'integer' },
        format: { enum: OUTPUT_FORMATS },
        width: { type: 'integer' },
        height: { type: 'integer' },
        bytes: { type: 'integer' },
        url: nullable('string'),
      }),
    },
  }),
  BatchPage: {
    allOf: [ref('Batch'), object({ items: { type: 'array', items: ref('BatchItem') }, next: nullable('string') })],
  },
  Health: object({ status: { const: 'ok' } }),
  TenantBacklog: object({
    backlog: object(
      { scan: { type: 'integer', minimum: 0 }, strip: { type: 'integer', minimum: 0 }, compress: { type: 'integer', minimum: 0 }, variants: { type: 'integer', minimum: 0 } },
      { description: "The tenant's images not final yet, by the stage they wait for" },
    ),
    inFlight: { type: 'integer', minimum: 0 },
    imagesInFlightLimit: { type: ['integer', 'null'], minimum: 1, description: 'null: no limit' },
  }),
  ImageStats: object({
    id: { type: 'string', format: 'uuid' },
    hits: { type: 'integer', minimum: 0 },
    byRendition: { type: 'object', additionalProperties: { type: 'integer', minimum: 0 }, description: 'e.g. {"webp": 12, "variants/thumbnail.webp": 3, "transformed": 1}' },
    links: object({ image: { type: 'string' } }),
  }),
  JobRun: object(
    {
      id: { type: 'string' },
      job: { type: 'string' },
      seq: { type: 'integer', minimum: 1 },
      trigger: { enum: ['schedule', 'manual'] },
      slot: { type: 'string', format: 'date-time' },
      holder: { type: 'string' },
      startedAt: { type: 'string', format: 'date-time' },
      expiresAt: { type: 'string', format: 'date-time', description: 'The lease, renewed while the run lasts' },
      outcome: { enum: ['running', 'succeeded', 'failed'] },
      counts: { type: 'object', additionalProperties: { type: 'number' } },
      links: object({ self: { type: 'string' } }),
    },
    { properties: { finishedAt: { type: 'string', format: 'date-time' }, error: { type: 'string' } } },
  ),
  TenantSettings: { type: 'object', description: 'Absent: unchanged; null lifts a limit', properties: tenantSettings, additionalProperties: false },
  NewTenant: {
    type: 'object',
    description: 'Absent settings: unlimited',
    required: ['name'],
    properties: { name: { type: 'string', pattern: '^[a-z0-9][a-z0-9-]{0,62}$' }, ...tenantSettings },
    additionalProperties: false,
  },
  Tenant: object({
    name: { type: 'string' },
    createdAt: { type: 'string', format: 'date-time' },
    requestsPerSecond: nullable('number'),
    storedBytesQuota: nullable('integer'),
    imagesInFlightLimit: nullable('integer'),
    signedGetsOnly: { type: 'boolean' },
    defaultTtlSeconds: nullable('integer'),
    corsOrigins: { type: 'array', items: { type: 'string' } },
    signingSecrets: {
      type: 'array',
      description: 'The current secret first; the others verify until they retire',
      items: object({ createdAt: { type: 'string', format: 'date-time' }, retiresAt: { type: ['string', 'null'], format: 'date-time' } }),
    },
    links: object({ self: { type: 'string' }, keys: { type: 'string' } }),
  }),
  ApiKey: object({
    sha256: { type: 'string', pattern: '^[0-9a-f]{64}$' },
    tenant: { type: 'string' },
    label: { type: 'string' },
    createdAt: { type: 'string', format: 'date-time' },
    revokedAt: { type: ['string', 'null'], format: 'date-time' },
  }),
  CreatedApiKey: { allOf: [ref('ApiKey'), object({ key: { type: 'string', description: 'The key itself, shown in this answer only' } })] },
  IngestCredential: object({
    keyId: { type: 'string', pattern: '^ing_[A-Za-z0-9_-]{16}$', description: 'Sent by an upstream system with every request it signs (docs/events.md)' },
    tenant: { type: 'string' },
    label: { type: 'string' },
    createdAt: { type: 'string', format: 'date-time' },
    revokedAt: { type: ['string', 'null'], format: 'date-time' },
  }),
  CreatedIngestCredential: { allOf: [ref('IngestCredential'), object({ secret: { type: 'string', description: 'The HMAC secret, shown in this answer only' } })] },
  SignedUrlRequest: object(
    { path: { type: 'string', description: 'e.g. /v1/images/ID.webp?w=400' }, expiresIn: { type: 'integer', minimum: 1, maximum: 31_536_000, default: 3600 } },
    { required: ['path'], additionalProperties: false },
  ),
  SignedUrl: object({ url: { type: 'string' }, expiresAt: { type: 'string', format: 'date-time' } }),
  Webhook: object({
    id: { type: 'string', format: 'uuid' },
    url: { type: 'string' },
    events: { type: 'array', items: { enum: Object.values(OUTCOME_TYPES) } },
    enabled: { type: 'boolean' },
    disabledReason: { type: ['string', 'null'], description: 'Why it was disabled (its deliveries kept failing, or by request)' },
    disabledAt: { type: ['string', 'null'], format: 'date-time' },
    createdAt: { type: 'string', format: 'date-time' },
    consecutiveFailures: { type: 'integer', minimum: 0, description: 'Delivery attempts failed since the last that succeeded' },
    failingSince: { type: ['string', 'null'], format: 'date-time' },
    secrets: {
      type: 'array',
      description: 'The current secret first; the others still sign deliveries until they retire',
      items: object({ createdAt: { type: 'string', format: 'date-time' }, retiresAt: { type: ['string', 'null'], format: 'date-time' } }),
    },
    links: object({ self: { type: 'string' }, deliveries: { type: 'string' } }),
  }),
  WebhookWithSecret: {
    allOf: [ref('Webhook'), object({ secret: { type: 'string', pattern: '^whsec_', description: 'The Standard Webhooks secret deliveries are signed with; shown in this answer only' } })],
  },
  WebhookDelivery: object({
    id: { type: 'string', format: 'uuid', description: 'The webhook-id header of every attempt' },
    eventId: { type: 'string', format: 'uuid', description: 'The outcome delivered (its eventId)' },
    type: { enum: Object.values(OUTCOME_TYPES) },
    state: { enum: ['pending', 'delivered', 'failed'] },
    createdAt: { type: 'string', format: 'date-time' },
    attempts: { type: 'integer', minimum: 0 },
    lastAttemptAt: { type: ['string', 'null'], format: 'date-time' },
    lastStatus: { type: ['integer', 'null'], description: 'The status the receiver answered; null when none came (timed out, unreachable, refused)' },
    lastError: nullable('string'),
    nextAttemptAt: { type: ['string', 'null'], format: 'date-time' },
    deliveredAt: { type: ['string', 'null'], format: 'date-time' },
    links: object({ redeliver: { type: 'string' } }),
  }),
  Readiness: object({ status: { enum: ['ready', 'degraded', 'not ready'] }, checks: { type: 'object', additionalProperties: { type: 'string' } } }),
};

export const openApiDocument = {
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
  paths: {
    '/v1/images': {
      post: {
        operationId: 'uploadImages',
        summary: 'Store one image (raw body), many (multipart field "file"), or images at URLs (JSON {url} or {urls})',
        parameters: [
          idempotencyKey,
          { name: 'ttl', in: 'query', required: false, description: 'Seconds until the image is deleted (or the header X-ProgImage-TTL; not both). Without either: the tenant\'s default time to live, else the service\'s, else until deleted', schema: { type: 'integer', minimum: 1 } },
          { name: 'X-ProgImage-TTL', in: 'header', required: false, description: 'Seconds until the image is deleted', schema: { type: 'integer', minimum: 1 } },
        ],
        requestBody: imageBodies({
          oneOf: [
            object({ url: { type: 'string' } }, { additionalProperties: false }),
            object({ urls: { type: 'array', items: { type: 'string' }, minItems: 1, maxItems: 100 } }, { additionalProperties: false }),
          ],
        }),
        responses: {
          '202': { description: 'Stored, and in the pipeline', content: json({ oneOf: [ref('UploadedImage'), ref('UploadedImages')] }) },
          '400': failure('a malformed request or a URL that will not be fetched', ['invalid_idempotency_key', 'invalid_ttl', 'malformed_multipart', 'no_file', 'unreadable_body', 'invalid_json', 'invalid_body', ...URL_REFUSED]),
          '413': failure('over the upload limit', ['payload_too_large']),
          '415': failure('not an image in an accepted format, data after its end, or a declared type the content contradicts', ['unsupported_media_type', 'trailing_data', 'type_mismatch']),
          '422': failure('an image that cannot be accepted, or more images than the tenant may have in the pipeline', ['unreadable_image', 'truncated_image', 'too_many_pixels', 'too_many_frames', 'unsafe_svg', 'idempotency_key_reused', 'too_many_images']),
          '502': failure('the URL answered an error', ['remote_error', 'remote_unreachable']),
          '504': failure('the URL did not answer in time', ['remote_timeout']),
          ...always,
          ...overQuota,
          '429': {
            ...failure("over the tenant's request rate, or at its limit of images in the pipeline (body: limit, inFlight, requested); Retry-After says when to try again", ['rate_limited', 'too_many_in_flight']),
            headers: { 'Retry-After': { description: 'Seconds: for too_many_in_flight, from the rate the pipeline drains the tenant\'s images, 1 to 60', schema: { type: 'integer', minimum: 1 } } },
          },
        },
      },
      get: {
        operationId: 'listImages',
        summary: 'Stored images, a page at a time',
        parameters: [
          { name: 'status', in: 'query', required: false, schema: { enum: imageStatusSchema.options } },
          cursorParameter,
          limitParameter(100, 50),
        ],
        responses: { '200': { description: 'One page', content: json(ref('ImagePage')) }, '400': failure('a bad query', ['invalid_query']), ...always },
      },
    },
    '/v1/images/{id}': {
      parameters: [idParameter('id', 'The image id')],
      get: {
        operationId: 'getImage',
        summary: "An image's metadata and the state of every stage",
        responses: { '200': { description: 'The image', content: json(ref('Image')) }, '404': failure('no such image', ['not_found']), ...always },
      },
      delete: {
        operationId: 'deleteImage',
        summary: 'Deletes the image and everything made from it',
        responses: { '204': { description: 'Deleted' }, '404': failure('no such image', ['not_found']), ...always },
      },
    },
    '/v1/images/{id}.{extension}': {
      get: {
        operationId: 'getImageAs',
        summary: 'The image in a format, transformed by the query (made on the first request, stored, served from the store after)',
        parameters: [
          idParameter('id', 'The image id'),
          {
            name: 'extension',
            in: 'path',
            required: true,
            description: "The format; auto: AVIF or WebP when Accept names it (q above 0), else the image's own (JPEG, PNG or GIF), with Vary: Accept",
            schema: { enum: ['jpg', 'jpeg', 'png', 'webp', 'avif', 'gif', 'tif', 'tiff', 'auto'] },
          },
          presetParameter,
          ...transformParameters.filter((parameter) => parameter.name !== 'format'),
          ...deliveryParameters,
          headerParameter('Accept', 'For the extension auto: the formats the client takes'),
          headerParameter('Sec-CH-DPR', 'For dpr=auto (also DPR): the device pixel ratio, 1 to 4'),
          headerParameter('Sec-CH-Width', 'For dpr=auto without width or height (also Width): the laid-out width in device pixels'),
        ],
        responses: {
          '200': {
            ...imageAnswer('The image'),
            headers: {
              ...imageHeaders,
              Vary: { description: 'For auto: Accept; for dpr=auto: Sec-CH-DPR, DPR (and Sec-CH-Width, Width without a size); Origin for listed image origins', schema: { type: 'string' } },
              'Accept-CH': { description: 'For dpr=auto: Sec-CH-DPR, Sec-CH-Width', schema: { type: 'string' } },
            },
          },
          ...delivered,
          '400': failure('a bad extension, transformation or query, or a format that cannot hold the output', ['unsupported_extension', 'invalid_transform', 'output_too_large', 'format_limit_exceeded', 'invalid_query']),
          ...servedImageFailures,
          '422': failure('a stage gave up on it, or the transformation is estimated to cost more than allowed', ['processing_failed', 'too_costly']),
          '503': failure('past the transformation deadline, or too many transformations waiting, or the wait for a turn would pass the deadline (Retry-After)', ['transform_timeout', 'overloaded']),
          ...always,
          ...presetsOnly,
        },
      },
    },
    '/v1/images/{id}/variants/{file}': {
      get: {
        operationId: 'getVariant',
        summary: 'A preset of the image, e.g. thumbnail.webp',
        parameters: [idParameter('id', 'The image id'), idParameter('file', 'NAME.EXT: a preset and a format'), ...deliveryParameters],
        responses: {
          '200': imageAnswer('The variant'),
          ...delivered,
          '400': failure('download given more than once, or a format that cannot hold the preset', ['invalid_query', 'format_limit_exceeded']),
          ...servedImageFailures,
          '404': failure('no such image or variant', ['not_found', 'no_such_variant']),
          ...always,
        },
      },
    },
    '/v1/transform': {
      post: {
        operationId: 'transform',
        summary: 'Transforms the image in the body (options in the query) or at a URL (JSON {url, ...options}); nothing is stored',
        parameters: transformParameters,
        requestBody: imageBodies({ allOf: [object({ url: { type: 'string' } }), ref('TransformOptions')] }),
        responses: {
          '200': { description: 'The transformed image', content: { 'image/*': { schema: binary } } },
          '400': failure('a bad transformation or request', ['invalid_transform', 'output_too_large', 'format_limit_exceeded', 'one_image', 'malformed_multipart', 'no_file', 'invalid_json', 'invalid_body', ...URL_REFUSED]),
          '413': failure('over the upload limit', ['payload_too_large']),
          '415': failure('not an image in an accepted format, data after its end, or a declared type the content contradicts', ['unsupported_media_type', 'trailing_data', 'type_mismatch']),
          '422': failure('an image that cannot be transformed', ['unreadable_image', 'too_many_pixels', 'too_many_frames', 'unsafe_svg', 'infected', 'output_too_large', 'unprocessable_image', 'too_costly']),
          '502': failure('the URL answered an error', ['remote_error', 'remote_unreachable']),
          '503': failure('past the deadline, too many transformations waiting, or the scanner is not answering (Retry-After)', ['transform_timeout', 'overloaded', 'scan_unavailable']),
          '504': failure('the URL did not answer in time', ['remote_timeout']),
          ...always,
        },
      },
    },
    '/v1/batches': {
      post: {
        operationId: 'createBatch',
        summary: 'Transforms stored images or URLs in bulk',
        parameters: [idempotencyKey],
        requestBody: { required: true, content: json(ref('BatchRequest')) },
        responses: {
          '202': { description: 'Accepted; follow it at links.events', content: json(ref('Batch')) },
          '400': failure('a bad request or transformation', ['invalid_json', 'invalid_body', 'invalid_transform', 'invalid_idempotency_key']),
          '413': failure('the body is too large', ['payload_too_large']),
          '415': failure('not JSON', ['unsupported_media_type']),
          '422': failure('the Idempotency-Key was used for another batch', ['idempotency_key_reused']),
          ...always,
          ...presetsOnly,
        },
      },
    },
    '/v1/batches/{id}': {
      get: {
        operationId: 'getBatch',
        summary: "A batch's counts and a page of its items",
        parameters: [
          idParameter('id', 'The batch id'),
          { name: 'cursor', in: 'query', required: false, schema: { type: 'string' } },
          limitParameter(500, 100),
        ],
        responses: { '200': { description: 'The batch', content: json(ref('BatchPage')) }, '400': failure('a bad query', ['invalid_query']), '404': failure('no such batch', ['not_found']), ...always },
      },
    },
    '/v1/batches/{id}/events': {
      get: {
        operationId: 'watchBatch',
        summary: 'Server-Sent Events: progress (data: a Batch) whenever the counts change, then completed',
        parameters: [idParameter('id', 'The batch id')],
        responses: {
          '200': { description: 'The event stream', content: { 'text/event-stream': { schema: { type: 'string' } } } },
          '404': failure('no such batch', ['not_found']),
          ...always,
        },
      },
    },
    '/v1/batches/{id}/items/{index}/{file}': {
      get: {
        operationId: 'getBatchOutput',
        summary: "An item's output: TRANSFORM.EXT",
        parameters: [
          idParameter('id', 'The batch id'),
          { name: 'index', in: 'path', required: true, schema: { type: 'integer', minimum: 0 } },
          idParameter('file', 'TRANSFORM.EXT'),
          ...deliveryParameters,
        ],
        responses: { '200': imageAnswer('The output'), ...delivered, '404': failure('no such output', ['not_found']), ...always },
      },
    },
    '/v1/signed-urls': {
      post: {
        operationId: 'signUrl',
        summary: "A URL of image bytes anyone may GET until it expires, signed with the tenant's current secret",
        requestBody: { required: true, content: json(ref('SignedUrlRequest')) },
        responses: {
          '201': { description: 'The signed URL (a path and query)', content: json(ref('SignedUrl')) },
          '400': failure('not the path of image bytes, or a bad expiry', BODY_REFUSED),
          ...always,
        },
      },
    },
    '/v1/images/{id}/stats': {
      get: {
        operationId: 'getImageStats',
        summary: "The image's hits, in all and by what was served (this process's unflushed hits included)",
        parameters: [idParameter('id', 'The image id')],
        responses: { '200': { description: 'Its statistics', content: json(ref('ImageStats')) }, '404': failure('no such image', ['not_found']), ...always },
      },
    },
    '/v1/pipeline': {
      get: {
        operationId: 'getPipeline',
        summary: "The tenant's images in the pipeline by the stage they wait for, its limit of them, and the pipeline's expected wait",
        responses: {
          '200': {
            description: 'As last counted',
            content: json({
              allOf: [
                ref('TenantBacklog'),
                object({ expectedWaitSeconds: { type: ['integer', 'null'], minimum: 0, maximum: 86_400, description: 'Until every image now in the pipeline is done, at the rate it drains (at most 86400); null while there is nothing to go by' } }),
              ],
            }),
          },
          ...always,
        },
      },
    },
    '/v1/stats/top': {
      get: {
        operationId: 'topImages',
        summary: "The tenant's most requested images, most first, as of the last flush",
        parameters: [limitParameter(1000, 10)],
        responses: {
          '200': { description: 'The top', content: json(object({ images: { type: 'array', items: ref('ImageStats') } })) },
          '400': failure('a bad limit', ['invalid_query']),
          ...always,
        },
      },
    },
    '/v1/admin/jobs': {
      get: {
        ...admin,
        operationId: 'listJobs',
        summary: "The scheduler's jobs, their schedules, next and last runs",
        responses: {
          '200': {
            description: 'The jobs',
            content: json(object({
              jobs: {
                type: 'array',
                items: object({ name: { type: 'string' }, description: { type: 'string' }, schedule: nullable('string'), nextRun: nullable('string'), lastRun: { oneOf: [{ type: 'null' }, ref('JobRun')] } }),
              },
            })),
          },
          ...adminRefused,
        },
      },
    },
    '/v1/admin/jobs/{name}/runs': {
      parameters: [idParameter('name', 'The job')],
      get: {
        ...admin,
        operationId: 'listJobRuns',
        summary: "A job's latest runs, newest first",
        parameters: [limitParameter(500, 20)],
        responses: {
          '200': { description: 'The runs', content: json(object({ runs: { type: 'array', items: ref('JobRun') } })) },
          '400': failure('a bad limit', ['bad_request']),
          '404': failure('no such job', ['not_found']),
          ...adminRefused,
        },
      },
      post: {
        ...admin,
        operationId: 'runJob',
        summary: 'Runs the job now (under its lease: never beside another run of it)',
        responses: {
          '202': { description: 'Started; Location names the run', content: json(ref('JobRun')) },
          '404': failure('no such job', ['not_found']),
          '409': failure('a run of it is under way', ['job_running']),
          ...adminRefused,
        },
      },
    },
    '/v1/admin/jobs/{name}/runs/{seq}': {
      get: {
        ...admin,
        operationId: 'getJobRun',
        summary: 'One run: its start, end, counts and error',
        parameters: [idParameter('name', 'The job'), { name: 'seq', in: 'path', required: true, schema: { type: 'integer', minimum: 1 } }],
        responses: { '200': { description: 'The run', content: json(ref('JobRun')) }, '404': failure('no such job or run', ['not_found']), ...adminRefused },
      },
    },
    '/v1/admin/tenants': {
      get: {
        ...admin,
        operationId: 'listTenants',
        summary: 'The tenants, a page at a time, by name',
        parameters: [cursorParameter, limitParameter(1000, 100)],
        responses: {
          '200': { description: 'One page', content: json(object({ tenants: { type: 'array', items: ref('Tenant') }, next: nullable('string') })) },
          '400': failure('a bad query', ['invalid_query']),
          ...adminRefused,
        },
      },
      post: {
        ...admin,
        operationId: 'createTenant',
        summary: 'A tenant (unlimited in what the body does not name) and its first API key, which this answer alone shows',
        requestBody: { required: true, content: json(ref('NewTenant')) },
        responses: {
          '201': { description: 'Created; Location names the tenant', content: json(object({ tenant: ref('Tenant'), key: ref('CreatedApiKey') })) },
          '400': failure('a body that is not valid; the message names the field', BODY_REFUSED),
          '409': failure('a tenant of that name exists', ['tenant_exists']),
          ...adminRefused,
        },
      },
    },
    '/v1/admin/tenants/{name}': {
      parameters: [tenantName],
      get: {
        ...admin,
        operationId: 'getTenant',
        summary: "A tenant's settings, and when its signing secrets were made and retire (never the secrets)",
        responses: { '200': { description: 'The tenant', content: json(ref('Tenant')) }, ...noTenant, ...adminRefused },
      },
      patch: {
        ...admin,
        operationId: 'updateTenant',
        summary: 'Changes the settings the body names (null lifts a limit); gatekeepers see them within PROGIMAGE_AUTH_CACHE_MS',
        requestBody: { required: true, content: json(ref('TenantSettings')) },
        responses: {
          '200': { description: 'The tenant as it now is', content: json(ref('Tenant')) },
          '400': failure('a body that is not valid; the message names the field', BODY_REFUSED),
          ...noTenant,
          ...adminRefused,
        },
      },
    },
    '/v1/admin/tenants/{name}/pipeline': {
      parameters: [tenantName],
      get: {
        ...admin,
        operationId: 'getTenantPipeline',
        summary: "The tenant's images in the pipeline, by the stage they wait for, and its limit of them",
        responses: { '200': { description: 'As counted now', content: json(ref('TenantBacklog')) }, ...noTenant, ...adminRefused },
      },
    },
    '/v1/admin/tenants/{name}/keys': {
      parameters: [tenantName],
      get: {
        ...admin,
        operationId: 'listApiKeys',
        summary: "The tenant's API keys (their sha256, never the keys), a page at a time",
        parameters: [cursorParameter, limitParameter(1000, 100)],
        responses: {
          '200': { description: 'One page', content: json(object({ keys: { type: 'array', items: ref('ApiKey') }, next: nullable('string') })) },
          '400': failure('a bad query', ['invalid_query']),
          ...noTenant,
          ...adminRefused,
        },
      },
      post: {
        ...admin,
        operationId: 'createApiKey',
        summary: 'Another API key for the tenant, which this answer alone shows',
        requestBody: { required: true, content: json({ type: 'object', properties: { label: { type: 'string', maxLength: 200, default: '' } }, additionalProperties: false }) },
        responses: {
          '201': { description: 'The new key', content: json(ref('CreatedApiKey')) },
          '400': failure('a body that is not valid', BODY_REFUSED),
          ...noTenant,
          ...adminRefused,
        },
      },
    },
    '/v1/admin/tenants/{name}/signing-secret': {
      parameters: [tenantName],
      post: {
        ...admin,
        operationId: 'rotateSigningSecret',
        summary: 'A new signing secret, which this answer alone shows; the current one keeps verifying for graceSeconds (0: retired at once)',
        requestBody: {
          required: true,
          content: json({ type: 'object', properties: { graceSeconds: { type: 'number', minimum: 0, maximum: 31_536_000, default: 86_400 } }, additionalProperties: false }),
        },
        responses: {
          '200': {
            description: 'The tenant as it now is, and its new signing secret',
            content: json({ allOf: [ref('Tenant'), object({ signingSecret: { type: 'string', description: 'For clients that sign URLs themselves; shown in this answer only' } })] }),
          },
          '400': failure('a body that is not valid', BODY_REFUSED),
          ...noTenant,
          ...adminRefused,
        },
      },
    },
    '/v1/admin/tenants/{name}/signed-urls': {
      parameters: [tenantName],
      post: {
        ...admin,
        operationId: 'signUrlForTenant',
        summary: "A URL of image bytes signed with the tenant's current secret, as POST /v1/signed-urls makes for the tenant itself",
        requestBody: { required: true, content: json(ref('SignedUrlRequest')) },
        responses: {
          '201': { description: 'The signed URL (a path and query)', content: json(ref('SignedUrl')) },
          '400': failure('not the path of image bytes, or a bad expiry', BODY_REFUSED),
          ...noTenant,
          ...adminRefused,
        },
      },
    },
    '/v1/admin/tenants/{name}/ingest-credentials': {
      parameters: [tenantName],
      get: {
        ...admin,
        operationId: 'listIngestCredentials',
        summary: "The tenant's ingest credentials (their key ids, never the secrets), a page at a time",
        parameters: [cursorParameter, limitParameter(1000, 100)],
        responses: {
          '200': { description: 'One page', content: json(object({ credentials: { type: 'array', items: ref('IngestCredential') }, next: nullable('string') })) },
          '400': failure('a bad query', ['invalid_query']),
          ...noTenant,
          ...adminRefused,
        },
      },
      post: {
        ...admin,
        operationId: 'createIngestCredential',
        summary: "A credential an upstream system signs the tenant's Kafka ingest requests with; this answer alone shows its secret",
        requestBody: { required: true, content: json({ type: 'object', properties: { label: { type: 'string', maxLength: 200, default: '' } }, additionalProperties: false }) },
        responses: {
          '201': { description: 'The new credential', content: json(ref('CreatedIngestCredential')) },
          '400': failure('a body that is not valid', BODY_REFUSED),
          ...noTenant,
          ...adminRefused,
        },
      },
    },
    '/v1/admin/ingest-credentials/{keyId}': {
      delete: {
        ...admin,
        operationId: 'revokeIngestCredential',
        summary: 'Revokes the ingest credential: requests signed with it are rejected from now on',
        parameters: [idParameter('keyId', 'The key id (ing_…)')],
        responses: {
          '200': { description: 'The credential, revoked', content: json(ref('IngestCredential')) },
          '404': failure('no such credential', ['credential_not_found']),
          ...adminRefused,
        },
      },
    },
    '/v1/admin/keys/{sha256}': {
      delete: {
        ...admin,
        operationId: 'revokeApiKey',
        summary: 'Revokes the key of this sha256 (hex); gatekeepers refuse it within PROGIMAGE_AUTH_CACHE_MS',
        parameters: [idParameter('sha256', 'The sha256 of the key, in hex')],
        responses: { '200': { description: 'The key, revoked', content: json(ref('ApiKey')) }, '404': failure('no such key', ['key_not_found']), ...adminRefused },
      },
    },
    '/v1/admin/keys/revoke': {
      post: {
        ...admin,
        operationId: 'revokeApiKeyByKey',
        summary: 'Revokes the key in the body (kept out of the URL, which logs keep)',
        requestBody: { required: true, content: json(object({ key: { type: 'string', minLength: 1 } }, { additionalProperties: false })) },
        responses: {
          '200': { description: 'The key, revoked', content: json(ref('ApiKey')) },
          '400': failure('a body that is not valid', BODY_REFUSED),
          '404': failure('no such key', ['key_not_found']),
          ...adminRefused,
        },
      },
    },
    '/v1/webhooks': {
      post: {
        operationId: 'createWebhook',
        summary: "Registers a webhook endpoint for the tenant's outcomes (Standard Webhooks); the answer alone shows its secret",
        requestBody: {
          required: true,
          content: json(object(
            { url: { type: 'string', maxLength: 2048 }, events: { type: 'array', minItems: 1, items: { enum: Object.values(OUTCOME_TYPES) }, description: 'Absent: every outcome' } },
            { required: ['url'], additionalProperties: false },
          )),
        },
        responses: {
          '201': { description: 'Registered; Location names it', content: json(ref('WebhookWithSecret')) },
          '400': failure('a body that is not valid, or a URL the address policy refuses', [...BODY_REFUSED, ...URL_REFUSED]),
          '409': failure('the tenant has as many webhooks as it may (the error names the maximum)', ['webhook_limit_reached']),
          ...always,
        },
      },
      get: {
        operationId: 'listWebhooks',
        summary: "The tenant's webhook endpoints",
        responses: { '200': { description: 'Every one', content: json(object({ webhooks: { type: 'array', items: ref('Webhook') } })) }, ...always },
      },
    },
    '/v1/webhooks/{id}': {
      parameters: [webhookId],
      get: {
        operationId: 'getWebhook',
        summary: 'A webhook endpoint (never its secrets)',
        responses: { '200': { description: 'The endpoint', content: json(ref('Webhook')) }, ...noWebhook, ...always },
      },
      patch: {
        operationId: 'updateWebhook',
        summary: 'Changes its URL or events, enables it again (starting afresh) or disables it',
        requestBody: {
          required: true,
          content: json({
            type: 'object',
            minProperties: 1,
            properties: { url: { type: 'string', maxLength: 2048 }, events: { type: 'array', minItems: 1, items: { enum: Object.values(OUTCOME_TYPES) } }, enabled: { type: 'boolean' } },
            additionalProperties: false,
          }),
        },
        responses: {
          '200': { description: 'The endpoint as it now is', content: json(ref('Webhook')) },
          '400': failure('a body that is not valid, or a URL the address policy refuses', [...BODY_REFUSED, ...URL_REFUSED]),
          ...noWebhook,
          ...always,
        },
      },
      delete: {
        operationId: 'deleteWebhook',
        summary: 'Deletes the endpoint and its delivery log',
        responses: { '204': { description: 'Deleted' }, ...noWebhook, ...always },
      },
    },
    '/v1/webhooks/{id}/rotate-secret': {
      post: {
        operationId: 'rotateWebhookSecret',
        summary: 'A new secret; the current one keeps signing deliveries (beside the new one) for graceSeconds',
        parameters: [webhookId],
        requestBody: {
          required: true,
          content: json({ type: 'object', properties: { graceSeconds: { type: 'integer', minimum: 0, maximum: 31_536_000, default: 86_400 } }, additionalProperties: false }),
        },
        responses: {
          '200': { description: 'The endpoint and its new secret', content: json(ref('WebhookWithSecret')) },
          '400': failure('a body that is not valid', BODY_REFUSED),
          ...noWebhook,
          ...always,
        },
      },
    },
    '/v1/webhooks/{id}/deliveries': {
      get: {
        operationId: 'listWebhookDeliveries',
        summary: "The endpoint's delivery log, a page at a time (by delivery id)",
        parameters: [webhookId, { name: 'state', in: 'query', required: false, schema: { enum: ['pending', 'delivered', 'failed'] } }, cursorParameter, limitParameter(100, 50)],
        responses: {
          '200': { description: 'One page', content: json(object({ deliveries: { type: 'array', items: ref('WebhookDelivery') }, next: nullable('string') })) },
          '400': failure('a bad query', ['invalid_query']),
          ...noWebhook,
          ...always,
        },
      },
    },
    '/v1/webhooks/{id}/deliveries/{deliveryId}/redeliver': {
      post: {
        operationId: 'redeliverWebhook',
        summary: 'Sends the delivery again, as the same message (same webhook-id), with a fresh retry schedule',
        parameters: [webhookId, idParameter('deliveryId', 'The delivery id')],
        responses: {
          '202': { description: 'Queued', content: json(ref('WebhookDelivery')) },
          '404': failure('no such webhook or delivery', ['webhook_not_found', 'delivery_not_found']),
          '409': failure('the endpoint is disabled: enable it first', ['webhook_disabled']),
          ...always,
        },
      },
    },
    '/v1/openapi.json': {
      get: { operationId: 'openApi', summary: 'This document', responses: { '200': { description: 'OpenAPI 3.1', content: json({ type: 'object' }) }, ...always } },
    },
    '/v1/asyncapi.json': {
      get: {
        operationId: 'asyncApi',
        summary: 'The AsyncAPI document of the public Kafka topics (ingest.requested, progimage.outcomes.v1)',
        responses: { '200': { description: 'AsyncAPI 3.0', content: json({ type: 'object' }) }, ...always },
      },
    },
    '/healthz': {
      get: { ...open, operationId: 'health', summary: 'The process is alive (every service)', responses: { '200': { description: 'Alive', content: json(ref('Health')) } } },
    },
    '/readyz': {
      get: {
        ...open,
        operationId: 'readiness',
        summary: 'Every dependency answers (every service)',
        responses: {
          '200': { description: 'Ready', content: json(ref('Readiness')) },
          '503': { description: 'A dependency does not answer; checks names it', content: json(ref('Readiness')) },
        },
      },
    },
    '/metrics': {
      get: {
        operationId: 'metrics',
        summary: 'Prometheus metrics (every service); without credentials when PROGIMAGE_PUBLIC_METRICS allows',
        responses: { '200': { description: 'Text format', content: { 'text/plain': { schema: { type: 'string' } } } }, ...always },
      },
    },
  },
  components: {
    schemas,
    securitySchemes: {
      apiKey: { type: 'http', scheme: 'bearer', description: "A tenant's API key" },
      adminToken: { type: 'http', scheme: 'bearer', description: 'PROGIMAGE_ADMIN_TOKEN (admin operations only)' },
      adminTokenHeader: { type: 'apiKey', in: 'header', name: 'X-ProgImage-Admin-Token', description: 'PROGIMAGE_ADMIN_TOKEN (admin operations only)' },
    },
  },
} as const;
