import Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import { tenantOf } from '../lib/http/admission.ts';
import { HttpError } from '../lib/http/errors.ts';
import { readJsonBody } from '../lib/http/json-body.ts';
import { parseTarget, permittedAddresses, type TargetPolicy } from '../lib/remote/remote-target.ts';
import { updateDocument } from '../lib/update-document.ts';
import type { WebhookDeliveries } from './deliveries-collection.ts';
import { changeRequest, createRequest, deliveriesQuery, rotateRequest } from './contract.ts';
import {
  ALL_EVENTS,
  MAX_ENDPOINTS_PER_TENANT,
  newWebhookEndpoint,
  webhookIdSchema,
  withRotatedSecret,
  type WebhookEndpoint,
  type WebhookEndpoints,
} from './endpoints-collection.ts';
import { deliveryView, endpointView } from './views.ts';

export interface WebhookRoutesDependencies {
  readonly endpoints: WebhookEndpoints;
  readonly deliveries: WebhookDeliveries;
  /** The address policy's exemptions (PROGIMAGE_FETCH_ALLOW_HOSTS), as for URL fetches. */
  readonly policy: TargetPolicy;
}

/** The URL as it will be called, if the address policy lets ProgImage call it now (the delivery checks it again, every time). */
async function checkedUrl(text: string, policy: TargetPolicy): Promise<string> {
  const url = parseTarget(text);
  await permittedAddresses(url, policy);
  return url.href;
}

const notFound = (id: string): HttpError => new HttpError(404, 'webhook_not_found', `no webhook ${id}`, { id });

/** An endpoint re-enabled starts afresh; one disabled by request says so. */
function withEnabled(endpoint: WebhookEndpoint, enabled: boolean, now: Date): WebhookEndpoint {
  if (enabled === endpoint.enabled) return endpoint;
  return enabled
    ? { ...endpoint, enabled, disabledReason: null, disabledAt: null, consecutiveFailures: 0, failingSince: null }
    : { ...endpoint, enabled, disabledReason: 'disabled by request', disabledAt: now.toISOString() };
}

/**
 * The tenant's webhook endpoints (Standard Webhooks): register, list, change,
 * re-enable, delete, rotate the secret; and each endpoint's delivery log, with redelivery.
 */
export function webhookRoutes({ endpoints, deliveries, policy }: WebhookRoutesDependencies): Router {
  const router = new Router({ prefix: '/v1/webhooks' });

  /** The endpoint `id`, if it is the requesting tenant's. */
  const endpointOf = async (ctx: Context, param: string | undefined): Promise<WebhookEndpoint> => {
    const id = param ?? '';
    const found = webhookIdSchema.safeParse(id).success ? await endpoints.get(id) : null;
    if (found?.document.tenant !== tenantOf(ctx)) throw notFound(id);
    return found.document;
  };
  /** Changes the tenant's endpoint `id` (compare-and-set); 404 when it is gone. */
  const changeEndpoint = async (
    ctx: Context,
    param: string | undefined,
    change: (endpoint: WebhookEndpoint) => WebhookEndpoint,
  ): Promise<WebhookEndpoint> => {
    const { id } = await endpointOf(ctx, param);
    const changed = await updateDocument(endpoints, id, (current) => (current === null ? null : change(current)));
    if (changed === null) throw notFound(id);
    return changed;
  };

  router.post('/', async (ctx) => {
    const request = await readJsonBody(ctx, createRequest);
    const url = await checkedUrl(request.url, policy);
    const tenant = tenantOf(ctx);
    if ((await endpoints.count({ tenant })) >= MAX_ENDPOINTS_PER_TENANT) {
      throw new HttpError(409, 'webhook_limit_reached', `a tenant may register at most ${MAX_ENDPOINTS_PER_TENANT} webhooks`, {
        max: MAX_ENDPOINTS_PER_TENANT,
      });
    }
    const { endpoint, secret } = newWebhookEndpoint(tenant, url, request.events ?? ALL_EVENTS, new Date());
    await endpoints.save(endpoint, null);
    ctx.status = 201;
    ctx.set('Location', `/v1/webhooks/${endpoint.id}`);
    ctx.body = { ...endpointView(endpoint), secret };
  });

  router.get('/', async (ctx) => {
    const found = await endpoints.find({ where: { tenant: tenantOf(ctx) }, limit: MAX_ENDPOINTS_PER_TENANT });
    ctx.body = { webhooks: found.map(endpointView) };
  });

  router.get('/:id', async (ctx) => {
    ctx.body = endpointView(await endpointOf(ctx, ctx.params.id));
  });

  router.patch('/:id', async (ctx) => {
    const request = await readJsonBody(ctx, changeRequest);
    const url = request.url === undefined ? undefined : await checkedUrl(request.url, policy);
    const now = new Date();
    const changed = await changeEndpoint(ctx, ctx.params.id, (current) => {
      const next = {
        ...current,
        ...(url === undefined ? {} : { url }),
        ...(request.events === undefined ? {} : { events: [...new Set(request.events)] }),
      };
      return request.enabled === undefined ? next : withEnabled(next, request.enabled, now);
    });
    ctx.body = endpointView(changed);
  });

  router.delete('/:id', async (ctx) => {
    const { id } = await endpointOf(ctx, ctx.params.id);
    await endpoints.delete(id);
    // Its log goes with it; a delivery the worker holds now is dropped when it finds no endpoint.
    for (;;) {
      const page = await deliveries.find({ where: { endpointId: id }, limit: 500 });
      if (page.length === 0) break;
      for (const delivery of page) await deliveries.delete(delivery.id);
    }
    ctx.status = 204;
  });

  router.post('/:id/rotate-secret', async (ctx) => {
    const { graceSeconds } = await readJsonBody(ctx, rotateRequest);
    let secret = '';
    const rotated = await changeEndpoint(ctx, ctx.params.id, (current) => {
      const next = withRotatedSecret(current, graceSeconds, new Date());
      secret = next.secret;
      return next.endpoint;
    });
    ctx.body = { ...endpointView(rotated), secret };
  });

  router.get('/:id/deliveries', async (ctx) => {
    const parsed = deliveriesQuery.safeParse(ctx.query);
    if (!parsed.success)
      throw new HttpError(400, 'invalid_query', parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; '));
    const { state, cursor, limit } = parsed.data;
    const { id } = await endpointOf(ctx, ctx.params.id);
    const page = await deliveries.find({
      where: { endpointId: id, ...(state === undefined ? {} : { state }) },
      limit: limit + 1,
      ...(cursor === undefined ? {} : { after: cursor }),
    });
    const shown = page.slice(0, limit);
    ctx.body = { deliveries: shown.map(deliveryView), next: page.length > limit ? (shown.at(-1)?.id ?? null) : null };
  });

  router.post('/:id/deliveries/:deliveryId/redeliver', async (ctx) => {
    const endpoint = await endpointOf(ctx, ctx.params.id);
    const deliveryId = ctx.params.deliveryId ?? '';
    const found = z.uuid().safeParse(deliveryId).success ? await deliveries.get(deliveryId) : null;
    if (found?.document.endpointId !== endpoint.id) {
      throw new HttpError(404, 'delivery_not_found', `no delivery ${deliveryId} of webhook ${endpoint.id}`, { id: deliveryId });
    }
    if (!endpoint.enabled)
      throw new HttpError(409, 'webhook_disabled', `webhook ${endpoint.id} is disabled: enable it first (PATCH {"enabled": true})`, {
        id: endpoint.id,
      });
    const now = new Date().toISOString();
    const queued = await updateDocument(deliveries, deliveryId, (current) =>
      current === null ? null : { ...current, state: 'pending' as const, nextAttemptAt: now, failuresInRow: 0, deliveredAt: null },
    );
    if (queued === null)
      throw new HttpError(404, 'delivery_not_found', `no delivery ${deliveryId} of webhook ${endpoint.id}`, { id: deliveryId });
    ctx.status = 202;
    ctx.body = deliveryView(queued);
  });

  return router;
}
