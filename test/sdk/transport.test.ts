import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import test from 'ava';
import {
  ApiError,
  AuthenticationError,
  BadRequestError,
  ConflictError,
  ConnectionError,
  GoneError,
  NotFoundError,
  PayloadTooLargeError,
  PermissionDeniedError,
  ProgImage,
  type ClientOptions,
  RateLimitError,
  ServerError,
  ServiceUnavailableError,
  TimeoutError,
  UnprocessableEntityError,
  UnsupportedMediaTypeError,
} from '../../sdk/src/index.ts';
import { parseRetryAfter, retryDelay } from '../../sdk/src/retry.ts';
import { serverSentEvents } from '../../sdk/src/server-sent-events.ts';

/** How the client speaks HTTP, against a local server that answers what each test wants. */

type Handler = (request: IncomingMessage, response: ServerResponse) => void;

/** A client of a local server that answers with `handler`; no retries unless asked. */
async function serve(
  t: { teardown(fn: () => unknown): void },
  handler: Handler,
  options: Partial<ClientOptions> = {},
): Promise<{ pi: ProgImage; requests: IncomingMessage[] }> {
  const requests: IncomingMessage[] = [];
  const server = createServer((request, response) => {
    requests.push(request);
    handler(request, response);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(
    () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(resolve);
      }),
  );
  const pi = new ProgImage({
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    apiKey: 'key-1',
    maxRetries: 0,
    ...options,
  });
  return { pi, requests };
}

const answer = (response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
  response.writeHead(status, { 'Content-Type': 'application/json', ...headers }).end(JSON.stringify(body));
};

const IMAGE = { id: 'x', status: 'uploaded' };

test('every call carries the API key as a bearer token', async (t) => {
  const { pi, requests } = await serve(t, (_, response) => {
    answer(response, 200, IMAGE);
  });
  await pi.images.get('x');
  t.is(requests[0]?.headers.authorization, 'Bearer key-1');
  t.is(requests[0]?.url, '/v1/images/x');
});

const CLASSES = [
  [400, BadRequestError],
  [401, AuthenticationError],
  [403, PermissionDeniedError],
  [404, NotFoundError],
  [409, ConflictError],
  [410, GoneError],
  [413, PayloadTooLargeError],
  [415, UnsupportedMediaTypeError],
  [422, UnprocessableEntityError],
  [429, RateLimitError],
  [500, ServerError],
  [502, ServerError],
  [503, ServiceUnavailableError],
  [418, ApiError],
] as const;

for (const [status, ErrorClass] of CLASSES) {
  test(`a ${status} answer becomes ${ErrorClass.name} with the code, message and details of its body`, async (t) => {
    const { pi } = await serve(t, (_, response) => {
      answer(response, status, { error: { code: 'some_code', message: 'what happened', option: 'width' } }, { 'Retry-After': '7' });
    });
    const error = await t.throwsAsync(pi.images.get('x'), { instanceOf: ErrorClass });
    t.like(error, { status, code: 'some_code', message: 'what happened', details: { option: 'width' }, retryAfter: 7 });
  });
}

test('an error answer without a JSON body still has a status and a code', async (t) => {
  const { pi } = await serve(t, (_, response) => {
    response.writeHead(500).end('<html>oops</html>');
  });
  t.like(await t.throwsAsync(pi.images.get('x'), { instanceOf: ServerError }), { status: 500, code: 'http_500' });
});

test('a broken connection is retried, then reported as a ConnectionError', async (t) => {
  let calls = 0;
  const { pi } = await serve(
    t,
    (request, response) => {
      calls += 1;
      if (calls === 1) request.socket.destroy();
      else answer(response, 200, IMAGE);
    },
    { maxRetries: 2 },
  );
  t.is((await pi.images.get('x')).id, 'x');
  t.is(calls, 2);
  const never = new ProgImage({ baseUrl: 'http://127.0.0.1:1', maxRetries: 1 });
  await t.throwsAsync(never.images.get('x'), { instanceOf: ConnectionError });
});

test('429 and 503 are retried as often as allowed, Retry-After honoured; the last answer is the error', async (t) => {
  const { pi, requests } = await serve(
    t,
    (_, response) => {
      answer(response, 429, { error: { code: 'slow_down', message: 'later' } }, { 'Retry-After': '0' });
    },
    { maxRetries: 3 },
  );
  await t.throwsAsync(pi.images.get('x'), { instanceOf: RateLimitError });
  t.is(requests.length, 4);
});

test('a 4xx other than 429 is never retried', async (t) => {
  const { pi, requests } = await serve(
    t,
    (_, response) => {
      answer(response, 404, { error: { code: 'not_found', message: 'no' } });
    },
    { maxRetries: 3 },
  );
  await t.throwsAsync(pi.images.get('x'), { instanceOf: NotFoundError });
  t.is(requests.length, 1);
});

test("a call past its timeout fails with TimeoutError; an aborted one with the signal's reason", async (t) => {
  const { pi } = await serve(t, () => undefined);
  await t.throwsAsync(pi.images.get('x', { timeout: 100 }), { instanceOf: TimeoutError });
  const controller = new AbortController();
  const pending = pi.images.get('x', { signal: controller.signal });
  controller.abort(new Error('the user gave up'));
  await t.throwsAsync(pending, { message: 'the user gave up' });
});

test('waitUntilReady polls until the image is ready, and gives up with TimeoutError', async (t) => {
  let polls = 0;
  const { pi } = await serve(t, (request, response) => {
    polls += 1;
    if (request.url === '/v1/images/late') answer(response, 200, { ...IMAGE, status: polls < 3 ? 'clean' : 'ready' });
    else answer(response, 200, { ...IMAGE, status: 'uploaded' });
  });
  t.is((await pi.images.waitUntilReady('late')).status, 'ready');
  await t.throwsAsync(pi.images.waitUntilReady('never', { timeout: 300 }), { instanceOf: TimeoutError });
});

test('backoff is exponential with full jitter, and Retry-After wins', (t) => {
  t.is(
    retryDelay(0, null, () => 1),
    250,
  );
  t.is(
    retryDelay(3, null, () => 1),
    2000,
  );
  t.is(
    retryDelay(10, null, () => 1),
    10_000,
  );
  t.is(
    retryDelay(3, null, () => 0),
    0,
  );
  t.is(
    retryDelay(0, 3000, () => 1),
    3000,
  );
  t.is(parseRetryAfter('2'), 2000);
  t.is(parseRetryAfter(new Date(Date.UTC(2030, 0, 1, 0, 0, 5)).toUTCString(), Date.UTC(2030, 0, 1)), 5000);
  t.is(parseRetryAfter('soon'), null);
});

test('server-sent events are read whatever the chunks', async (t) => {
  const text = 'event: progress\ndata: {"a":1}\n\n: keep-alive\n\nevent: completed\r\ndata: {"a":\r\ndata: 2}\r\n\r\n';
  const bytes = new TextEncoder().encode(text);
  const chunks = Array.from({ length: bytes.length }, (_, index) => bytes.subarray(index, index + 1));
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(chunk);
      controller.close();
    },
  });
  const events = [];
  for await (const event of serverSentEvents(stream)) events.push(event);
  t.deepEqual(events, [
    { event: 'progress', data: '{"a":1}' },
    { event: 'completed', data: '{"a":\n2}' },
  ]);
});
