import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A webhook message as a receiver got it: the Standard Webhooks headers, the raw body, and when it came. */
export interface ReceivedWebhook {
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  readonly at: number;
}

/** What the receiver does with a message: answer this status, or never answer at all. */
export type ReceiverAnswer = number | 'hang';

/** A webhook receiver on loopback; `answer` decides, for each message, given how often its webhook-id came before. */
export interface WebhookReceiver {
  /** host:port, for PROGIMAGE_FETCH_ALLOW_HOSTS. */
  readonly host: string;
  readonly url: string;
  readonly received: readonly ReceivedWebhook[];
  answer: (message: ReceivedWebhook, earlier: number) => ReceiverAnswer;
  close(): Promise<void>;
}

const WEBHOOK_HEADERS = ['webhook-id', 'webhook-timestamp', 'webhook-signature', 'content-type'] as const;

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

export async function startWebhookReceiver(answer: WebhookReceiver['answer']): Promise<WebhookReceiver> {
  const received: ReceivedWebhook[] = [];
  const server: Server = createServer((request, response) => {
    void readBody(request).then((body) => {
      const headers = Object.fromEntries(WEBHOOK_HEADERS.map((name) => [name, String(request.headers[name] ?? '')]));
      const message = { headers, body, at: Date.now() };
      const earlier = received.filter((other) => other.headers['webhook-id'] === headers['webhook-id']).length;
      received.push(message);
      const decision = receiver.answer(message, earlier);
      if (decision !== 'hang') response.writeHead(decision).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  const receiver: WebhookReceiver = {
    host,
    url: `http://${host}/hooks/progimage`,
    received,
    answer,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
  return receiver;
}
