import { request as httpRequest } from 'node:http';
import { requestBytes, runLoad as runOnSockets } from './http-load.ts';

/**
 * HTTP load at a fixed number of keep-alive connections, each with one
 * request in flight: what bench:cached, bench:transform and bench:soak drive
 * the service (and the bare servers) with, on the raw-socket generator of
 * bench/http-load.ts (why not autocannon is written there). A run fails at
 * the first answer that is not the one expected, or at a lost connection; a
 * run bounded by time lets the requests in flight finish, and its rate counts
 * the answers from the first request to the last answer.
 */

export interface LoadRequest {
  readonly method?: 'GET' | 'POST';
  readonly path: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: Buffer;
}

export interface LoadOptions {
  readonly host: string;
  /**
   * The server's port, or the ports of its instances (one process per port): the connections are
   * split between them, and every request's Host names the first, as a balancer in front would.
   */
  readonly ports: readonly [number, ...number[]];
  /** Request number `index` of the run (0, 1, … in the order they are sent). */
  readonly request: (index: number) => LoadRequest;
  /** Connections, each with one request in flight: the number of requests in flight. */
  readonly connections: number;
  /** Stop: after this many requests in all, or once this many milliseconds have passed. */
  readonly stop: { readonly requests: number } | { readonly durationMs: number };
  /** Every answer must have this status (and Content-Length): the run fails at the first that does not, or at a lost connection. */
  readonly expect: { readonly status: number; readonly bodyLength?: number };
}

export interface LoadResult {
  readonly requests: number;
  /** From the first request sent to the last response received. */
  readonly seconds: number;
  /** Per request, from writing it to its response's last byte. */
  readonly latenciesMs: readonly number[];
  /** This process's (the client's) CPU seconds during the run. */
  readonly clientCpuSeconds: number;
}

/** Runs requests on `connections` keep-alive connections until `stop`; rejects at the first unexpected answer. */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const { host, ports, stop, expect } = options;
  const latenciesMs: number[] = [];
  /** The first unexpected answer or lost connection: no request starts after it, and the run fails. */
  const outcome: { failure: Error | null } = { failure: null };
  const failed = new AbortController();
  const cpuBefore = process.cpuUsage();
  const { seconds } = await runOnSockets({
    host,
    ports,
    connections: 'requests' in stop ? Math.min(options.connections, stop.requests) : options.connections,
    stop,
    keepBodies: false,
    signal: failed.signal,
    request: (index) => {
      const { method = 'GET', path, headers, body } = options.request(index);
      return requestBytes(host, ports[0], {
        method,
        path,
        ...(headers === undefined ? {} : { headers }),
        ...(body === undefined ? {} : { body }),
      });
    },
    record: (answer, latencyMs) => {
      latenciesMs.push(latencyMs);
      const unexpected =
        answer instanceof Error
          ? answer
          : answer.status !== expect.status || (expect.bodyLength !== undefined && answer.bodyLength !== expect.bodyLength)
            ? new Error(
                `expected ${expect.status} with ${expect.bodyLength ?? 'any'} bytes, got ${answer.status} with ${answer.bodyLength}`,
              )
            : null;
      if (unexpected !== null && outcome.failure === null) {
        outcome.failure = unexpected;
        failed.abort();
      }
    },
  });
  const cpu = process.cpuUsage(cpuBefore);
  if (outcome.failure !== null) throw outcome.failure;
  return { requests: latenciesMs.length, seconds, latenciesMs, clientCpuSeconds: (cpu.user + cpu.system) / 1e6 };
}

export interface SingleAnswer {
  readonly status: number;
  /** Lower-case header names. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
  /** The bytes of the status line and headers as sent, the blank line that ends them included. */
  readonly headBytes: number;
}

/** One request on a connection of its own (untimed: priming, checking what each side sends), its body kept. */
export function requestOnce(host: string, port: number, { method = 'GET', path, headers = {}, body }: LoadRequest): Promise<SingleAnswer> {
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest({ host, port, method, path, headers: { Accept: '*/*', ...headers }, agent: false }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', reject);
      response.on('end', () => {
        const raw = response.rawHeaders;
        let headBytes = Buffer.byteLength(
          `HTTP/${response.httpVersion} ${response.statusCode ?? 0} ${response.statusMessage ?? ''}\r\n\r\n`,
          'latin1',
        );
        for (let index = 0; index < raw.length; index += 2)
          headBytes += Buffer.byteLength(`${raw[index] ?? ''}: ${raw[index + 1] ?? ''}\r\n`, 'latin1');
        const headers: Record<string, string> = {};
        for (const [name, value] of Object.entries(response.headers))
          headers[name] = Array.isArray(value) ? value.join(', ') : (value ?? '');
        resolve({ status: response.statusCode ?? 0, headers, body: Buffer.concat(chunks), headBytes });
      });
    });
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

/** The headers of an authenticated request, and of its body's type when it has one. */
export const authenticated = (apiKey: string, contentType?: string): Record<string, string> => ({
  Authorization: `Bearer ${apiKey}`,
  ...(contentType === undefined ? {} : { 'Content-Type': contentType }),
});
