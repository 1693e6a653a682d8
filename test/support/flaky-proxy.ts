import { createServer, request as forward, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ProxiedRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly answered: number;
}

/** A proxy in front of a service that answers 503 when told to, and otherwise forwards; it records every request. */
export interface FlakyProxy {
  readonly baseUrl: string;
  readonly requests: readonly ProxiedRequest[];
  /** Request body bytes passed on to the service so far. */
  bytesForwarded(): number;
  /** Fails the next `count` requests with 503 and the given Retry-After (seconds). */
  failNext(count: number, retryAfter?: number): void;
  close(): Promise<void>;
}

export async function startFlakyProxy(target: string): Promise<FlakyProxy> {
  const requests: ProxiedRequest[] = [];
  let failures = 0;
  let retryAfter: number | undefined;
  let forwarded = 0;
  const { hostname, port } = new URL(target);
  const server = createServer((req, res) => {
    const record = (answered: number) => requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, answered });
    if (failures > 0) {
      failures -= 1;
      record(503);
      req.resume();
      res.writeHead(503, {
        'Content-Type': 'application/json',
        ...(retryAfter === undefined ? {} : { 'Retry-After': String(retryAfter) }),
      });
      res.end(JSON.stringify({ error: { code: 'service_unavailable', message: 'try again' } }));
      return;
    }
    const upstream = forward({ hostname, port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      record(answer.statusCode ?? 0);
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.on('data', (chunk: Buffer) => {
      forwarded += chunk.length;
    });
    // A client that hangs up midway hangs up on the service too.
    req.on('close', () => {
      if (!req.complete) upstream.destroy();
    });
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    bytesForwarded: () => forwarded,
    failNext(count, seconds) {
      failures = count;
      retryAfter = seconds;
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
}
