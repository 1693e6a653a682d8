import { setTimeout as sleep } from 'node:timers/promises';
import { ApiError, apiError, ConnectionError, TimeoutError } from './errors.ts';
import { parseRetryAfter, RETRIED_STATUSES, retryDelay } from './retry.ts';
import type { SigningSecret } from '@progimage/transform-language';

/** What every call takes. */
export interface RequestOptions {
  /** Milliseconds for the whole call, retries and the response body included (Infinity: none). */
  readonly timeout?: number;
  readonly signal?: AbortSignal;
}

export interface ClientOptions {
  /** Where ProgImage answers, e.g. https://images.example.com */
  readonly baseUrl: string | URL;
  /** Sent as `Authorization: Bearer <apiKey>`. */
  readonly apiKey?: string;
  /** Default timeout of a call in milliseconds (60 s). */
  readonly timeout?: number;
  /** How often an idempotent call is retried on 429, 503 or a broken connection (3). */
  readonly maxRetries?: number;
  /** The tenant's URL-signing secret: `images.signedUrl()` then signs here, with no call to the server. */
  readonly signing?: SigningSecret;
}

/** What a request may carry: bytes, text, or a stream. */
export type RequestBodyInit = NonNullable<RequestInit['body']>;

const DEFAULT_TIMEOUT_MS = 60_000;
const DEFAULT_MAX_RETRIES = 3;

export interface Call {
  readonly method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  readonly path: string;
  readonly query?: URLSearchParams;
  readonly headers?: Readonly<Record<string, string>>;
  /** Made again for every attempt: a body stream can be sent once only. */
  readonly body?: () => RequestBodyInit;
  /** Whether the call may be repeated: it is idempotent and its body can be made again. */
  readonly retriable: boolean;
}

/** The signal of one call: the caller's, and the call's deadline. */
class CallSignal {
  readonly deadline: AbortSignal;
  readonly signal: AbortSignal;
  constructor(
    readonly timeoutMs: number,
    signal: AbortSignal | undefined,
  ) {
    // Infinity: no deadline (an event stream that lasts as long as its batch).
    this.deadline = Number.isFinite(timeoutMs) ? AbortSignal.timeout(timeoutMs) : new AbortController().signal;
    this.signal = signal === undefined ? this.deadline : AbortSignal.any([signal, this.deadline]);
  }

  /** Why the call was aborted: a TimeoutError past the deadline, else the caller's reason. */
  abortReason(call: Call): unknown {
    if (this.deadline.aborted) return new TimeoutError(`${call.method} ${call.path} did not finish within ${this.timeoutMs} ms`);
    return this.signal.reason;
  }
}

const describe = (error: unknown): string => {
  const cause = error instanceof Error ? error.cause : undefined;
  return cause instanceof Error ? cause.message : error instanceof Error ? error.message : String(error);
};

async function errorBody(response: Response): Promise<unknown> {
  try {
    return await response.json();
  } catch {
    return null;
  }
}

/** HTTP for the resources: base URL, credentials, timeouts, typed errors and retries in one place. */
export class Transport {
  readonly baseUrl: string;

  constructor(private readonly options: ClientOptions) {
    this.baseUrl = String(options.baseUrl).replace(/\/+$/, '');
  }

  url(path: string, query?: URLSearchParams): string {
    const text = query?.toString() ?? '';
    return `${this.baseUrl}${path}${text === '' ? '' : `?${text}`}`;
  }

  /**
   * The successful response of a call; an error answer becomes its typed
   * error. A retriable call is repeated on 429, 503 and broken connections,
   * after Retry-After or a jittered exponential backoff.
   */
  send(call: Call, options: RequestOptions = {}): Promise<Response> {
    return this.request(call, options, (response) => Promise.resolve(response));
  }

  /** The JSON answer of a call. */
  json<T>(call: Call, options: RequestOptions = {}): Promise<T> {
    return this.request(call, options, async (response) => (await response.json()) as T);
  }

  /** Sends the call and reads its answer with `read`, under the call's deadline and signal. */
  async request<T>(call: Call, options: RequestOptions, read: (response: Response) => Promise<T>): Promise<T> {
    const callSignal = new CallSignal(options.timeout ?? this.options.timeout ?? DEFAULT_TIMEOUT_MS, options.signal);
    const maxRetries = call.retriable ? (this.options.maxRetries ?? DEFAULT_MAX_RETRIES) : 0;
    try {
      for (let attempt = 0; ; attempt += 1) {
        let response: Response;
        try {
          response = await fetch(this.url(call.path, call.query), this.init(call, callSignal.signal));
        } catch (error) {
          if (callSignal.signal.aborted || attempt >= maxRetries) throw error;
          await sleep(retryDelay(attempt, null), undefined, { signal: callSignal.signal });
          continue;
        }
        if (response.ok) return await read(response);
        const retryAfter = parseRetryAfter(response.headers.get('retry-after'));
        if (RETRIED_STATUSES.has(response.status) && attempt < maxRetries) {
          await response.body?.cancel();
          await sleep(retryDelay(attempt, retryAfter), undefined, { signal: callSignal.signal });
          continue;
        }
        throw apiError(response.status, await errorBody(response), retryAfter === null ? null : retryAfter / 1000);
      }
    } catch (error) {
      if (error instanceof ApiError) throw error;
      if (callSignal.signal.aborted) throw callSignal.abortReason(call);
      throw new ConnectionError(`${call.method} ${call.path}: ${describe(error)}`, { cause: error });
    }
  }

  private init(call: Call, signal: AbortSignal): RequestInit {
    const headers: Record<string, string> = { ...call.headers };
    if (this.options.apiKey !== undefined) headers.Authorization = `Bearer ${this.options.apiKey}`;
    // duplex 'half' lets a stream body go out while the answer is awaited (Node's fetch requires it).
    return { method: call.method, headers, signal, ...(call.body === undefined ? {} : { body: call.body(), duplex: 'half' as const }) };
  }
}
