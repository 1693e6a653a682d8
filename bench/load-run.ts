import { request as httpRequest } from 'node:http';
import autocannon from 'autocannon';

/**
 * HTTP load at a fixed number of keep-alive connections, each with one
 * request in flight, on autocannon: what bench:cached, bench:transform and
 * bench:soak drive the service (and the bare servers) with. autocannon writes
 * on raw sockets, as the hand-written generator it replaced did, so the client
 * costs little next to the server it measures; on this project's 2-CPU
 * machine, 64 connections on a bare node:http server sending 20 KB: 22-25 µs of
 * client CPU per request against 22 for the hand-written one, 300 bytes: 11-12
 * against 10 (docs/BENCHMARKS.md). Both sides of a ratio use it alike.
 *
 * Where it differs from the hand-written generator:
 * - `stop: { requests }` is autocannon's `amount`: each connection sends its
 *   share (requests / connections) rather than taking the next request when
 *   free; the request *numbers* are still handed out in the order they are sent.
 * - a run bounded by time ends at the first of autocannon's samples (every
 *   100 ms here) after its duration, abandoning what is in flight; the rate
 *   counts the answers, from the first request to the last answer.
 */

export interface LoadRequest {
  readonly method?: 'GET' | 'POST';
  readonly path: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: Buffer;
}

export interface LoadOptions {
  readonly host: string;
  readonly port: number;
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

/** Seconds autocannon waits for an answer: a transformation on a loaded 2-CPU machine can take far longer than its default 10. */
const ANSWER_TIMEOUT_SECONDS = 600;

const headerValue = (headers: Readonly<Record<string, string | string[] | undefined>> | undefined, name: string): string | undefined => {
  const found = Object.entries(headers ?? {}).find(([key]) => key.toLowerCase() === name);
  return found?.[1] === undefined ? undefined : String(found[1]);
};

/** Runs requests on `connections` keep-alive connections until `stop`; rejects at the first unexpected answer. */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const { stop, expect } = options;
  const latenciesMs: number[] = [];
  let next = 0;
  /** The first unexpected answer or lost connection: the run stops there and fails. */
  const outcome: { failure: Error | null } = { failure: null };
  const begin = performance.now();
  let last = begin;
  const cpuBefore = process.cpuUsage();
  const amount = 'requests' in stop ? stop.requests : undefined;
  let instance: autocannon.Instance | undefined;
  const settle = (error: Error): void => {
    outcome.failure ??= error;
    instance?.stop();
  };
  const settings: autocannon.Options = {
    url: `http://${options.host}:${options.port}`,
    connections: amount === undefined ? options.connections : Math.min(options.connections, amount),
    pipelining: 1,
    timeout: ANSWER_TIMEOUT_SECONDS,
    sampleInt: 100,
    ...(amount === undefined ? { duration: ('durationMs' in stop ? stop.durationMs : 0) / 1000 } : { amount }),
    requests: [
      {
        setupRequest: (request, context: { sentAt?: number }) => {
          const { method = 'GET', path, headers = {}, body } = options.request(next++);
          context.sentAt = performance.now();
          return { ...request, method, path, headers: { Accept: '*/*', ...headers }, ...(body === undefined ? {} : { body }) };
        },
        onResponse: (status, _body, context: { sentAt?: number }, headers) => {
          last = performance.now();
          latenciesMs.push(last - (context.sentAt ?? begin));
          const length = headerValue(headers, 'content-length');
          if (status !== expect.status || (expect.bodyLength !== undefined && Number(length) !== expect.bodyLength)) {
            settle(
              new Error(
                `expected ${expect.status} with ${expect.bodyLength ?? 'any'} bytes, got ${status} with ${length ?? 'no Content-Length'}`,
              ),
            );
          }
        },
      },
    ],
  };
  await new Promise<void>((resolve, reject) => {
    instance = autocannon(settings, (error) => {
      if (error === null || error === undefined) resolve();
      else reject(error instanceof Error ? error : new Error(String(error)));
    });
    instance.on('reqError', settle);
  });
  const cpu = process.cpuUsage(cpuBefore);
  if (outcome.failure !== null) throw outcome.failure;
  if (latenciesMs.length === 0) throw new Error('no request was answered');
  return { requests: latenciesMs.length, seconds: (last - begin) / 1000, latenciesMs, clientCpuSeconds: (cpu.user + cpu.system) / 1e6 };
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
