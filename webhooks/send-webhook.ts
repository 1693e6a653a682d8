import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { Webhook } from 'standardwebhooks';
import { DomainError } from '../lib/errors.ts';
import { parseTarget, permittedAddresses, pinnedLookup, type Addresses, type TargetPolicy } from '../lib/remote/remote-target.ts';

/** One delivery attempt: the message id (the same on every retry), when it is sent, and the body to sign and send. */
export interface WebhookMessage {
  readonly id: string;
  readonly timestamp: Date;
  readonly body: string;
}

/** How an attempt ended: a 2xx, an answer of another status, or none (timed out, unreachable, refused by the address policy). */
export type AttemptResult = 'delivered' | 'http_error' | 'timeout' | 'unreachable' | 'refused';

export interface AttemptOutcome {
  readonly result: AttemptResult;
  /** The status the receiver answered; null when none came. */
  readonly status: number | null;
  /** Why it failed, for the delivery log; null when delivered. */
  readonly error: string | null;
}

export interface SendOptions extends TargetPolicy {
  /** The deadline of the attempt: the lookup, the connection, the request and the answer's status line. */
  readonly timeoutMs: number;
}

/**
 * The Standard Webhooks headers of a message: its id, its time in Unix
 * seconds, and one `v1,<base64 HMAC-SHA256 of "id.timestamp.body">` per
 * secret, separated by spaces (several while a rotated secret is in its grace period).
 */
export function webhookHeaders(message: WebhookMessage, secrets: readonly string[]): Record<string, string> {
  return {
    'webhook-id': message.id,
    'webhook-timestamp': String(Math.floor(message.timestamp.getTime() / 1000)),
    'webhook-signature': secrets.map((secret) => new Webhook(secret).sign(message.id, message.timestamp, message.body)).join(' '),
  };
}

/** Posts the body to the checked addresses; resolves with the status once the answer's headers arrive (its body is not read). */
function post(
  url: URL,
  addresses: Addresses,
  headers: Readonly<Record<string, string>>,
  body: string,
  signal: AbortSignal,
): Promise<number> {
  const client = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    // No agent: a pooled keep-alive socket is keyed by host and port only, and would skip the checked addresses.
    const request = client.request(
      url,
      {
        method: 'POST',
        agent: false,
        lookup: pinnedLookup(addresses),
        signal,
        headers: {
          ...headers,
          'content-type': 'application/json',
          'content-length': String(Buffer.byteLength(body)),
          'user-agent': 'ProgImage-Webhooks',
        },
      },
      (response: IncomingMessage) => {
        resolve(response.statusCode ?? 0);
        request.destroy();
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

function failed(result: AttemptResult, error: string, status: number | null = null): AttemptOutcome {
  return { result, status, error };
}

/**
 * One attempt to deliver a signed message to `url`: the URL checked by the
 * same address policy as URL fetches, its host resolved anew and the
 * connection pinned to the addresses checked; no redirect is followed. It
 * never throws: every way it can end is an outcome for the delivery log.
 */
export async function sendWebhook(
  url: string,
  message: WebhookMessage,
  secrets: readonly string[],
  options: SendOptions,
): Promise<AttemptOutcome> {
  const deadline = AbortSignal.timeout(options.timeoutMs);
  // A DNS lookup cannot be aborted: the race ends the attempt at the deadline all the same.
  const timedOut = new Promise<never>((_resolve, reject) => {
    deadline.addEventListener(
      'abort',
      () => {
        reject(new Error('deadline passed'));
      },
      { once: true },
    );
  });
  const attempt = async (): Promise<number> => {
    const target = parseTarget(url);
    return post(target, await permittedAddresses(target, options), webhookHeaders(message, secrets), message.body, deadline);
  };
  try {
    const status = await Promise.race([attempt(), timedOut]);
    if (status >= 200 && status <= 299) return { result: 'delivered', status, error: null };
    const redirect = status >= 300 && status <= 399 ? ' (redirects are not followed)' : '';
    return failed('http_error', `answered ${status}${redirect}`, status);
  } catch (error) {
    if (deadline.aborted) return failed('timeout', `no answer within ${options.timeoutMs} ms`);
    if (error instanceof DomainError) return failed(error.code === 'host_unresolvable' ? 'unreachable' : 'refused', error.message);
    return failed('unreachable', `could not be reached: ${error instanceof Error ? error.message : String(error)}`);
  }
}
