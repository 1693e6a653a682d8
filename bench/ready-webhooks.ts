import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { text } from 'node:stream/consumers';
import { Webhook } from 'standardwebhooks';
import { z } from 'zod';

/** The outcomes that end an image's way through the pipeline: what the benchmark subscribes to. */
export const FINAL_OUTCOMES = ['image.ready', 'image.failed', 'image.infected'] as const;

const outcomeSchema = z.object({ type: z.enum(FINAL_OUTCOMES), imageId: z.string() }).loose();

/** How an image ended, and when its webhook reached the benchmark (epoch ms). */
export interface FinalOutcome {
  readonly type: (typeof FINAL_OUTCOMES)[number];
  readonly receivedAt: number;
}

interface Waiter {
  readonly resolve: (outcome: FinalOutcome) => void;
  readonly reject: (error: Error) => void;
}

/**
 * The benchmark's webhook endpoint on loopback: how it learns that an image
 * is done, as an application would, instead of polling GET /v1/images/ID
 * (whose requests would load the API and the catalog store on the same CPUs
 * as the pipeline it measures). Every delivery's signature is checked with the
 * endpoint's secret; the first outcome of each image counts, repeats are
 * answered and ignored (delivery is at least once).
 */
export class OutcomeReceiver {
  readonly #server: Server;
  readonly #arrived = new Map<string, FinalOutcome>();
  readonly #waiters = new Map<string, Waiter>();
  #verifier: Webhook | null = null;
  #failure: Error | null = null;

  private constructor(server: Server) {
    this.#server = server;
    server.on('request', (request, response) => {
      text(request).then(
        (body) => response.writeHead(this.#take(body, request.headers)).end(),
        () => response.destroy(),
      );
    });
  }

  static async start(): Promise<OutcomeReceiver> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return new OutcomeReceiver(server);
  }

  /** host:port, for PROGIMAGE_FETCH_ALLOW_HOSTS: the address policy refuses loopback otherwise. */
  get host(): string {
    return `127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  get url(): string {
    return `http://${this.host}/webhooks/progimage`;
  }

  /** The endpoint's secret (`whsec_…`), from its registration: deliveries are verified with it from now on. */
  trust(secret: string): void {
    this.#verifier = new Webhook(secret);
  }

  /** Resolves when the image's outcome arrives; rejects after `timeoutMs`, or when a delivery fails its check. */
  outcomeOf(imageId: string, timeoutMs: number): Promise<FinalOutcome> {
    if (this.#failure !== null) return Promise.reject(this.#failure);
    const arrived = this.#arrived.get(imageId);
    if (arrived !== undefined) return Promise.resolve(arrived);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(imageId);
        reject(new Error(`no outcome of image ${imageId} came within ${timeoutMs / 1000} s`));
      }, timeoutMs);
      const settle = () => {
        clearTimeout(timer);
        this.#waiters.delete(imageId);
      };
      this.#waiters.set(imageId, {
        resolve: (outcome) => {
          settle();
          resolve(outcome);
        },
        reject: (error) => {
          settle();
          reject(error);
        },
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.#server.closeAllConnections();
      this.#server.close(() => {
        resolve();
      });
    });
  }

  /** Checks and records one delivery; answers its status. */
  #take(body: string, headers: IncomingMessage['headers']): number {
    let outcome: z.infer<typeof outcomeSchema>;
    try {
      if (this.#verifier === null) throw new Error('a delivery came before the endpoint was registered');
      const flat = Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, String(value)]));
      outcome = outcomeSchema.parse(this.#verifier.verify(body, flat));
    } catch (error) {
      this.#fail(new Error(`a webhook delivery failed its check: ${error instanceof Error ? error.message : String(error)}`));
      return 400;
    }
    if (this.#arrived.has(outcome.imageId)) return 204;
    const final: FinalOutcome = { type: outcome.type, receivedAt: Date.now() };
    this.#arrived.set(outcome.imageId, final);
    this.#waiters.get(outcome.imageId)?.resolve(final);
    return 204;
  }

  #fail(error: Error): void {
    this.#failure ??= error;
    for (const waiter of [...this.#waiters.values()]) waiter.reject(error);
  }
}
