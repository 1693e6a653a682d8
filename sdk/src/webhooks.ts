import type { RequestOptions, Transport } from './transport.ts';
import { jsonBody } from './upload-body.ts';

/** The outcomes a webhook can be sent: the types of the events on progimage.outcomes.v1. */
export type WebhookEventType = 'image.ready' | 'image.failed' | 'image.infected' | 'image.deleted' | 'ingest.rejected';

/** A webhook endpoint (GET /v1/webhooks/ID): never its secrets, only when each was made and retires. */
export interface Webhook {
  readonly id: string;
  readonly url: string;
  readonly events: readonly WebhookEventType[];
  readonly enabled: boolean;
  /** Why it was disabled (its deliveries kept failing, or by request); null while enabled. */
  readonly disabledReason: string | null;
  readonly disabledAt: string | null;
  readonly createdAt: string;
  /** Delivery attempts failed since the last one that succeeded, and since when. */
  readonly consecutiveFailures: number;
  readonly failingSince: string | null;
  /** The current secret first; the others still sign deliveries until they retire. */
  readonly secrets: readonly { readonly createdAt: string; readonly retiresAt: string | null }[];
  readonly links: { readonly self: string; readonly deliveries: string };
}

/** A webhook with its secret (`whsec_…`), shown when it is created or rotated, and never again. */
export interface WebhookWithSecret extends Webhook {
  readonly secret: string;
}

export type WebhookDeliveryState = 'pending' | 'delivered' | 'failed';

/** One outcome sent to one endpoint, from its delivery log. Its id is the webhook-id of every attempt. */
export interface WebhookDelivery {
  readonly id: string;
  readonly eventId: string;
  readonly type: WebhookEventType;
  readonly state: WebhookDeliveryState;
  readonly createdAt: string;
  readonly attempts: number;
  readonly lastAttemptAt: string | null;
  /** The status the receiver answered last; null when none came (timed out, unreachable, refused). */
  readonly lastStatus: number | null;
  readonly lastError: string | null;
  readonly nextAttemptAt: string | null;
  readonly deliveredAt: string | null;
  readonly links: { readonly redeliver: string };
}

export interface WebhookDeliveryPage {
  readonly deliveries: readonly WebhookDelivery[];
  /** The cursor of the next page; null on the last. */
  readonly next: string | null;
}

export interface CreateWebhookOptions extends RequestOptions {
  /** The outcomes to send (every one by default). */
  readonly events?: readonly WebhookEventType[];
}

export interface UpdateWebhookOptions extends RequestOptions {
  readonly url?: string;
  readonly events?: readonly WebhookEventType[];
  /** true enables a disabled endpoint again (its run of failures forgotten); false disables it. */
  readonly enabled?: boolean;
}

export interface RotateSecretOptions extends RequestOptions {
  /** How long the current secret keeps signing deliveries beside the new one (86400 s by default; 0: not at all). */
  readonly graceSeconds?: number;
}

export interface ListDeliveriesOptions extends RequestOptions {
  readonly state?: WebhookDeliveryState;
  /** Deliveries per page, 1-100 (50). */
  readonly limit?: number;
  /** The `next` of the previous page. */
  readonly cursor?: string;
}

const pathOf = (id: string, ...rest: string[]): string =>
  ['/v1/webhooks', encodeURIComponent(id), ...rest.map(encodeURIComponent)].join('/');

/** pi.webhooks: endpoints that receive the tenant's outcomes, signed as Standard Webhooks, and their delivery logs. */
export class Webhooks {
  constructor(private readonly transport: Transport) {}

  /** Registers an endpoint; the answer alone carries its secret. */
  create(url: string, options: CreateWebhookOptions = {}): Promise<WebhookWithSecret> {
    const { events, ...request } = options;
    const body = jsonBody({ url, ...(events === undefined ? {} : { events }) });
    return this.transport.json<WebhookWithSecret>(
      { method: 'POST', path: '/v1/webhooks', headers: body.headers, body: body.body, retriable: false },
      request,
    );
  }

  async list(options: RequestOptions = {}): Promise<readonly Webhook[]> {
    return (await this.transport.json<{ webhooks: readonly Webhook[] }>({ method: 'GET', path: '/v1/webhooks', retriable: true }, options))
      .webhooks;
  }

  get(id: string, options: RequestOptions = {}): Promise<Webhook> {
    return this.transport.json<Webhook>({ method: 'GET', path: pathOf(id), retriable: true }, options);
  }

  /** Changes the URL or the events, or enables (or disables) the endpoint. */
  update(id: string, options: UpdateWebhookOptions): Promise<Webhook> {
    const { url, events, enabled, ...request } = options;
    const body = jsonBody({ url, events, enabled });
    return this.transport.json<Webhook>(
      { method: 'PATCH', path: pathOf(id), headers: body.headers, body: body.body, retriable: true },
      request,
    );
  }

  async delete(id: string, options: RequestOptions = {}): Promise<void> {
    await this.transport.send({ method: 'DELETE', path: pathOf(id), retriable: true }, options);
  }

  /** A new secret; deliveries are signed with both for `graceSeconds`. */
  rotateSecret(id: string, options: RotateSecretOptions = {}): Promise<WebhookWithSecret> {
    const { graceSeconds, ...request } = options;
    const body = jsonBody(graceSeconds === undefined ? {} : { graceSeconds });
    return this.transport.json<WebhookWithSecret>(
      { method: 'POST', path: pathOf(id, 'rotate-secret'), headers: body.headers, body: body.body, retriable: false },
      request,
    );
  }

  /** One page of the endpoint's delivery log. */
  deliveries(id: string, options: ListDeliveriesOptions = {}): Promise<WebhookDeliveryPage> {
    const { state, limit, cursor, ...request } = options;
    const query = new URLSearchParams();
    if (state !== undefined) query.set('state', state);
    if (limit !== undefined) query.set('limit', String(limit));
    if (cursor !== undefined) query.set('cursor', cursor);
    return this.transport.json<WebhookDeliveryPage>({ method: 'GET', path: pathOf(id, 'deliveries'), query, retriable: true }, request);
  }

  /** Sends a delivery again, as the same message (the same webhook-id). */
  redeliver(id: string, deliveryId: string, options: RequestOptions = {}): Promise<WebhookDelivery> {
    return this.transport.json<WebhookDelivery>(
      { method: 'POST', path: pathOf(id, 'deliveries', deliveryId, 'redeliver'), retriable: true },
      options,
    );
  }
}
