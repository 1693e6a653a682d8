import { connect, type Socket } from 'node:net';

/**
 * The load generator every benchmark drives HTTP with: keep-alive
 * connections, each with one request in flight at a time, on raw sockets so
 * that the client costs little next to the server it measures. Responses must
 * carry a Content-Length (ProgImage's do). bench/load-run.ts adapts it for the
 * benchmarks that only count answers.
 *
 * Written by hand, not autocannon (which bench/ used for a while), for two
 * measured reasons:
 * - autocannon 9 appends every response body to a string
 *   (`req.body += data`), decoding it as UTF-8: on a bare node:http server
 *   sending 18 KB of a JPEG, 64 connections, it cost 182–187 µs of client CPU
 *   per request and capped the run at 5,300 req/s, against 28–31 µs and
 *   35,000–37,000 req/s for this generator (2026-12-06; 36–41 against 19 µs
 *   for 18 KB of ASCII). The client then measured itself, not the server.
 * - at the end of a run bounded by time, autocannon abandons the requests in
 *   flight; here they finish and are recorded, and a lost connection is
 *   recorded against its request. Measured with 8 connections for 1 s against
 *   a server answering 100 KB uploads after 300 ms: the server received 32
 *   uploads in each of three runs, autocannon reported 24 answers, this
 *   generator 32. An upload abandoned that way is still taken in by the
 *   service, and bench:load must know the id of every upload accepted.
 */

export interface HttpResponse {
  readonly status: number;
  /** The status line and header lines, without the blank line that ends them. */
  readonly head: string;
  /** Lower-case header names. */
  readonly headers: Readonly<Record<string, string>>;
  readonly bodyLength: number;
  /** Kept only when asked for (the first response of a run). */
  readonly body: Buffer | null;
}

const HEAD_END = Buffer.from('\r\n\r\n');

function parseHead(head: string): { status: number; headers: Record<string, string> } {
  const [statusLine = '', ...lines] = head.split('\r\n');
  const match = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine);
  if (match?.[1] === undefined) throw new Error(`not an HTTP/1.1 response: ${JSON.stringify(statusLine)}`);
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { status: Number(match[1]), headers };
}

interface Pending {
  readonly keepBody: boolean;
  resolve(response: HttpResponse): void;
  reject(error: Error): void;
}

/** One keep-alive connection with at most one request in flight. */
export class KeepAliveConnection {
  readonly #socket: Socket;
  #buffered: Buffer = Buffer.alloc(0);
  #pending: Pending | null = null;
  #head: { status: number; head: string; headers: Record<string, string>; length: number } | null = null;
  #bodyChunks: Buffer[] = [];
  #bodyReceived = 0;
  #closed: Error | null = null;

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      this.#receive(chunk);
    });
    socket.on('error', (error) => {
      this.#fail(error);
    });
    socket.on('close', () => {
      this.#fail(new Error('the server closed the connection'));
    });
  }

  static open(host: string, port: number): Promise<KeepAliveConnection> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host, port });
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new KeepAliveConnection(socket));
      });
      socket.once('error', reject);
    });
  }

  send(request: Buffer, keepBody: boolean): Promise<HttpResponse> {
    if (this.#closed !== null) return Promise.reject(this.#closed);
    if (this.#pending !== null) return Promise.reject(new Error('a request is already in flight on this connection'));
    return new Promise((resolve, reject) => {
      this.#pending = { keepBody, resolve, reject };
      this.#socket.write(request);
    });
  }

  /** Ends the connection gracefully (FIN, not a reset), as a client that is done does. */
  close(): void {
    this.#closed ??= new Error('closed by the client');
    this.#socket.end();
    setTimeout(() => this.#socket.destroy(), 1000).unref();
  }

  #fail(error: Error): void {
    this.#closed ??= error;
    const pending = this.#pending;
    this.#pending = null;
    pending?.reject(error);
  }

  #receive(chunk: Buffer): void {
    if (this.#pending === null) {
      this.#fail(new Error('data arrived with no request in flight'));
      this.#socket.destroy();
      return;
    }
    let data = chunk;
    if (this.#head === null) {
      data = this.#buffered.length === 0 ? chunk : Buffer.concat([this.#buffered, chunk]);
      const end = data.indexOf(HEAD_END);
      if (end === -1) {
        this.#buffered = data;
        return;
      }
      const head = data.subarray(0, end).toString('latin1');
      this.#buffered = Buffer.alloc(0);
      try {
        const { status, headers } = parseHead(head);
        if (headers['transfer-encoding'] !== undefined || headers['content-length'] === undefined) {
          throw new Error(`the response has no Content-Length (Transfer-Encoding: ${headers['transfer-encoding'] ?? 'none'})`);
        }
        this.#head = { status, head, headers, length: Number(headers['content-length']) };
      } catch (error) {
        this.#fail(error as Error);
        this.#socket.destroy();
        return;
      }
      data = data.subarray(end + HEAD_END.length);
    }
    const head = this.#head;
    this.#bodyReceived += data.length;
    if (this.#pending.keepBody) this.#bodyChunks.push(data);
    if (this.#bodyReceived < head.length) return;
    if (this.#bodyReceived > head.length) {
      this.#fail(new Error(`${this.#bodyReceived - head.length} bytes arrived after the response (no pipelining here)`));
      this.#socket.destroy();
      return;
    }
    const pending = this.#pending;
    const body = pending.keepBody ? Buffer.concat(this.#bodyChunks) : null;
    this.#head = null;
    this.#bodyChunks = [];
    this.#bodyReceived = 0;
    this.#pending = null;
    pending.resolve({ status: head.status, head: head.head, headers: head.headers, bodyLength: head.length, body });
  }
}

/** A request as bytes, ready to be written on a keep-alive connection; Content-Length is added for a body. */
export function requestBytes(
  host: string,
  port: number,
  {
    method,
    path,
    headers = {},
    body,
  }: {
    readonly method: 'GET' | 'POST';
    readonly path: string;
    readonly headers?: Readonly<Record<string, string>>;
    readonly body?: Buffer;
  },
): Buffer {
  const lines = [
    `${method} ${path} HTTP/1.1`,
    `Host: ${host}:${port}`,
    'Accept: */*',
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
  ];
  if (body !== undefined) lines.push(`Content-Length: ${body.length}`);
  const head = Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
  return body === undefined ? head : Buffer.concat([head, body]);
}

/** A GET (or a POST with `body`) as bytes, ready to be written on a keep-alive connection; with `apiKey`, authenticated. */
export function prepareRequest(
  method: 'GET' | 'POST',
  path: string,
  host: string,
  port: number,
  { body, apiKey }: { readonly body?: { readonly bytes: Buffer; readonly contentType: string }; readonly apiKey?: string } = {},
): Buffer {
  const headers: Record<string, string> = {};
  if (apiKey !== undefined) headers.Authorization = `Bearer ${apiKey}`;
  if (body !== undefined) headers['Content-Type'] = body.contentType;
  return requestBytes(host, port, { method, path, headers, ...(body === undefined ? {} : { body: body.bytes }) });
}

export interface LoadOptions {
  readonly host: string;
  /** Connection number i goes to the i-th modulo their number: one port, or the instances of a server that runs one per port. */
  readonly ports: readonly number[];
  /** The bytes of the run's request number `index` (0, 1, … in the order they are sent). */
  readonly request: (index: number) => Buffer;
  /** Connections, each with one request in flight: the number of requests in flight. */
  readonly connections: number;
  /** Stop: after this many requests in all, or once this many milliseconds have passed (requests in flight finish). */
  readonly stop: { readonly requests: number } | { readonly durationMs: number };
  /**
   * Every answer, as it arrives, with its body (or the error that lost its connection: a new connection
   * takes that one's place), its latency and its request's index.
   */
  readonly record: (answer: HttpResponse | Error, latencyMs: number, index: number) => void;
  /** Whether `record` is given each answer's body (else `body` is null); true unless told. */
  readonly keepBodies?: boolean;
  /** Once aborted, no further request starts; those in flight finish. */
  readonly signal?: AbortSignal;
}

export interface LoadResult {
  readonly requests: number;
  /** From the first request sent to the last response received. */
  readonly seconds: number;
}

/** Runs requests on `connections` keep-alive connections until `stop`; resolves when all are answered. */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const portOf = (slot: number): number => {
    const port = options.ports[slot % options.ports.length];
    if (port === undefined) throw new Error('no port to connect to');
    return port;
  };
  const connections = await Promise.all(
    Array.from({ length: options.connections }, (_, slot) => KeepAliveConnection.open(options.host, portOf(slot))),
  );
  let started = 0;
  let answered = 0;
  const { stop } = options;
  const begin = performance.now();
  const deadline = 'durationMs' in stop ? begin + stop.durationMs : Number.POSITIVE_INFINITY;
  const more = (): boolean =>
    options.signal?.aborted !== true && ('requests' in stop ? started < stop.requests : performance.now() < deadline);
  let last = begin;
  /** Sends request number `index` on connection number `slot`, records its answer, and replaces a lost connection. */
  const exchange = async (slot: number, index: number): Promise<void> => {
    const request = options.request(index);
    const connection = connections[slot];
    if (connection === undefined) throw new Error(`no connection ${slot}`);
    const sent = performance.now();
    const answer = await connection
      .send(request, options.keepBodies ?? true)
      .catch((error: unknown) => (error instanceof Error ? error : new Error(String(error))));
    last = performance.now();
    answered += 1;
    options.record(answer, last - sent, index);
    if (answer instanceof Error) connections[slot] = await KeepAliveConnection.open(options.host, portOf(slot));
  };
  const worker = async (slot: number): Promise<void> => {
    while (more()) await exchange(slot, started++);
  };
  try {
    await Promise.all(connections.map((_, index) => worker(index)));
  } finally {
    for (const connection of connections) connection.close();
  }
  if (answered === 0) throw new Error('no request was made');
  return { requests: answered, seconds: (last - begin) / 1000 };
}
