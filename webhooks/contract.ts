import { z } from 'zod';
import type { ZodOpenApiPathsObject } from 'zod-openapi';
import { outcomeTypeSchema } from '../lib/events/outcomes.ts';
import { fetchableUrl, nextOf, pageLimit, pathSegment } from '../lib/http/contract/parameters.ts';
import { always, badQuery, BODY_REFUSED, failure, URL_REFUSED } from '../lib/http/contract/refusals.ts';
import { deliveryStateSchema, webhookDeliverySchema } from './deliveries-collection.ts';
import { webhookEndpointSchema } from './endpoints-collection.ts';

const webhookUrl = fetchableUrl(2048);
const events = z.array(outcomeTypeSchema).min(1);

export const createRequest = z.strictObject({ url: webhookUrl, events: events.optional().meta({ description: 'Absent: every outcome' }) });
export const changeRequest = z
  .strictObject({ url: webhookUrl.optional(), events: events.optional(), enabled: z.boolean().optional() })
  .refine((change) => Object.keys(change).length > 0, 'expected at least one of url, events, enabled')
  .meta({ minProperties: 1 });
export const rotateRequest = z.strictObject({ graceSeconds: z.number().int().min(0).max(31_536_000).default(86_400) });
export const deliveriesQuery = z.object({
  state: deliveryStateSchema.optional(),
  cursor: nextOf(z.uuid()),
  limit: pageLimit(100, 50),
});

const { tenant: _tenant, secrets, ...shown } = webhookEndpointSchema.shape;

/** An endpoint as the API shows it: everything but its secrets, of which only when each was made and retires. */
export const webhookViewSchema = z
  .object({
    ...shown,
    disabledReason: shown.disabledReason.meta({ description: 'Why it was disabled (its deliveries kept failing, or by request)' }),
    consecutiveFailures: shown.consecutiveFailures.meta({ description: 'Delivery attempts failed since the last that succeeded' }),
    secrets: z
      .array(secrets.element.omit({ secret: true }))
      .meta({ description: 'The current secret first; the others still sign deliveries until they retire' }),
    links: z.object({ self: z.string(), deliveries: z.string() }),
  })
  .meta({ id: 'Webhook' });
export type WebhookView = z.infer<typeof webhookViewSchema>;

const withSecret = webhookViewSchema
  .extend({
    secret: secrets.element.shape.secret.meta({
      description: 'The Standard Webhooks secret deliveries are signed with; shown in this answer only',
      override: ({ jsonSchema }) => {
        delete jsonSchema.format; // zod's name for startsWith, which the pattern says
      },
    }),
  })
  .meta({ id: 'WebhookWithSecret' });

const { endpointId: _endpoint, tenant: _owner, body: _body, failuresInRow: _failures, ...logged } = webhookDeliverySchema.shape;

/** A delivery as the log shows it: what was sent, how often, and what came back. */
export const deliveryViewSchema = z
  .object({
    ...logged,
    id: logged.id.meta({ description: 'The webhook-id header of every attempt' }),
    eventId: logged.eventId.meta({ description: 'The outcome delivered (its eventId)' }),
    lastStatus: logged.lastStatus.meta({
      description: 'The status the receiver answered; null when none came (timed out, unreachable, refused)',
    }),
    links: z.object({ redeliver: z.string() }),
  })
  .meta({ id: 'WebhookDelivery' });
export type DeliveryView = z.infer<typeof deliveryViewSchema>;

const json = (schema: z.ZodType) => ({ 'application/json': { schema } });
const webhookPath = z.object({ id: pathSegment('The webhook id') });
const noWebhook = { '404': failure('no such webhook', ['webhook_not_found']) };
const refusedBody = { '400': failure('a body that is not valid, or a URL the address policy refuses', [...BODY_REFUSED, ...URL_REFUSED]) };

export const webhookPaths: ZodOpenApiPathsObject = {
  '/v1/webhooks': {
    post: {
      operationId: 'createWebhook',
      summary: "Registers a webhook endpoint for the tenant's outcomes (Standard Webhooks); the answer alone shows its secret",
      requestBody: { required: true, content: json(createRequest) },
      responses: {
        '201': { description: 'Registered; Location names it', content: json(withSecret) },
        ...refusedBody,
        '409': failure('the tenant has as many webhooks as it may (the error names the maximum)', ['webhook_limit_reached']),
        ...always,
      },
    },
    get: {
      operationId: 'listWebhooks',
      summary: "The tenant's webhook endpoints",
      responses: { '200': { description: 'Every one', content: json(z.object({ webhooks: z.array(webhookViewSchema) })) }, ...always },
    },
  },
  '/v1/webhooks/{id}': {
    get: {
      operationId: 'getWebhook',
      summary: 'A webhook endpoint (never its secrets)',
      requestParams: { path: webhookPath },
      responses: { '200': { description: 'The endpoint', content: json(webhookViewSchema) }, ...noWebhook, ...always },
    },
    patch: {
      operationId: 'updateWebhook',
      summary: 'Changes its URL or events, enables it again (starting afresh) or disables it',
      requestParams: { path: webhookPath },
      requestBody: { required: true, content: json(changeRequest) },
      responses: {
        '200': { description: 'The endpoint as it now is', content: json(webhookViewSchema) },
        ...refusedBody,
        ...noWebhook,
        ...always,
      },
    },
    delete: {
      operationId: 'deleteWebhook',
      summary: 'Deletes the endpoint and its delivery log',
      requestParams: { path: webhookPath },
      responses: { '204': { description: 'Deleted' }, ...noWebhook, ...always },
    },
  },
  '/v1/webhooks/{id}/rotate-secret': {
    post: {
      operationId: 'rotateWebhookSecret',
      summary: 'A new secret; the current one keeps signing deliveries (beside the new one) for graceSeconds',
      requestParams: { path: webhookPath },
      requestBody: { required: true, content: json(rotateRequest) },
      responses: {
        '200': { description: 'The endpoint and its new secret', content: json(withSecret) },
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
      requestParams: { path: webhookPath, query: deliveriesQuery },
      responses: {
        '200': {
          description: 'One page',
          content: json(z.object({ deliveries: z.array(deliveryViewSchema), next: z.string().nullable() })),
        },
        ...badQuery(),
        ...noWebhook,
        ...always,
      },
    },
  },
  '/v1/webhooks/{id}/deliveries/{deliveryId}/redeliver': {
    post: {
      operationId: 'redeliverWebhook',
      summary: 'Sends the delivery again, as the same message (same webhook-id), with a fresh retry schedule',
      requestParams: { path: webhookPath.extend({ deliveryId: pathSegment('The delivery id') }) },
      responses: {
        '202': { description: 'Queued', content: json(deliveryViewSchema) },
        '404': failure('no such webhook or delivery', ['webhook_not_found', 'delivery_not_found']),
        '409': failure('the endpoint is disabled: enable it first', ['webhook_disabled']),
        ...always,
      },
    },
  },
};
