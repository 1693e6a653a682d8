import test, { type ExecutionContext } from 'ava';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { TRANSFORM_OPTION_NAMES } from '@progimage/transform-language';
import { waitUntil } from '../../lib/wait.ts';
import { bearer, TEST_API_KEY } from '../support/api.ts';
import { readFixture } from '../support/fixtures.ts';
import { startOnServers, type ProgImageOnServers } from '../support/on-servers.ts';

/** The OpenAPI document names every route the services register, and the services answer as it says. */

interface Operation {
  readonly parameters?: readonly {
    readonly in: string;
    readonly name: string;
    readonly schema?: { readonly examples?: readonly string[] };
  }[];
  readonly responses: Readonly<Record<string, { readonly content?: Readonly<Record<string, unknown>> }>>;
}
type Paths = Readonly<Record<string, Readonly<Record<string, Operation>>>>;
const DOCUMENT_ID = 'https://progimage.invalid/openapi.json';

// ajv-formats is CommonJS: its default export is the module object under ESM.
const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;
const ajv = addFormats(new Ajv2020({ strict: false, allErrors: true }));
/** The document as the server serves it (GET /v1/openapi.json, without credentials), loaded into ajv. */
let paths: Paths = {};

const pointer = (...parts: string[]) => parts.map((part) => part.replaceAll('~', '~0').replaceAll('/', '~1')).join('/');

/** The route's path in the document's spelling, parameters unnamed: /v1/images/:id → /v1/images/{}. */
const generic = (path: string) => path.replace(/:[A-Za-z0-9_]+/g, '{}').replace(/\{[^}]+\}/g, '{}');

/** A concrete path of a documented operation: each path parameter its schema's first example, else x. */
const exampleOf = (path: string, operation: Operation | undefined) =>
  path.replace(
    /\{([^}]+)\}/g,
    (_, name: string) =>
      operation?.parameters?.find((parameter) => parameter.in === 'path' && parameter.name === name)?.schema?.examples?.[0] ?? 'x',
  );

let running: ProgImageOnServers | undefined;
async function startWithDocument(): Promise<ProgImageOnServers> {
  const started = await startOnServers('openapi');
  const document = (await (await fetch(`${started.progimage.baseUrl}/v1/openapi.json`, { headers: bearer(TEST_API_KEY) })).json()) as {
    readonly paths: Paths;
  };
  ajv.addSchema({ ...document, $id: DOCUMENT_ID });
  paths = document.paths;
  return started;
}
const servers = async () => (running ??= await startWithDocument());
test.after.always(async () => {
  await running?.stop();
});

test.serial('every route the services register is in the document, and every documented path is served', async (t) => {
  const { progimage } = await servers();
  const registered = progimage.routers.flatMap((router) =>
    router.stack.flatMap((layer) =>
      layer.methods
        .filter((method) => method !== 'HEAD')
        .map((method) => ({ method: method.toLowerCase(), path: String(layer.path), regexp: layer.regexp })),
    ),
  );
  t.true(registered.length >= 14, 'the walk found the routes');
  const documented = Object.entries(paths).flatMap(([path, item]) =>
    Object.keys(item)
      .filter((key) => key !== 'parameters')
      .map((method) => ({ method, path, example: exampleOf(path, item[method]) })),
  );
  for (const route of registered) {
    // A route of a RegExp (lib/http/segment-route.ts) is known by what it matches.
    const same = (entry: (typeof documented)[number]) =>
      route.path.startsWith('/^') ? route.regexp.test(entry.example) : generic(entry.path) === generic(route.path);
    t.true(
      documented.some((entry) => entry.method === route.method && same(entry)),
      `${route.method.toUpperCase()} ${route.path} is documented`,
    );
  }
  for (const entry of documented) {
    t.true(
      registered.some((route) => route.method === entry.method && route.regexp.test(entry.example)),
      `${entry.method.toUpperCase()} ${entry.path} is served`,
    );
  }
});

/** Checks a real answer against the document: its status is documented for the operation, its type and JSON body match. */
async function conforms(t: ExecutionContext, method: string, path: string, response: Response): Promise<void> {
  const operation = paths[path]?.[method];
  if (operation === undefined) {
    t.fail(`${method} ${path} is not documented`);
    return;
  }
  const status = String(response.status);
  const documented = operation.responses[status] ?? operation.responses.default;
  if (documented === undefined) {
    t.fail(`${method} ${path} answered ${status}, which is not documented`);
    return;
  }
  const type = (response.headers.get('content-type') ?? '').split(';')[0] ?? '';
  const contentTypes = Object.keys(documented.content ?? {});
  if (contentTypes.length === 0) {
    t.is((await response.arrayBuffer()).byteLength, 0, `${method} ${path} ${status} has no body`);
    return;
  }
  const mediaType = contentTypes.find(
    (candidate) => candidate === type || (candidate.endsWith('/*') && type.startsWith(candidate.slice(0, -1))),
  );
  t.truthy(mediaType, `${method} ${path} ${status}: ${type} is one of ${contentTypes.join(', ')}`);
  if (mediaType !== 'application/json') {
    await response.arrayBuffer();
    return;
  }
  const body: unknown = await response.json();
  const responseStatus = operation.responses[status] === undefined ? 'default' : status;
  const validate = ajv.getSchema(
    `${DOCUMENT_ID}#/${pointer('paths', path, method, 'responses', responseStatus, 'content', mediaType, 'schema')}`,
  );
  if (validate === undefined) throw new Error(`no schema for ${method} ${path} ${status}`);
  t.true(validate(body), `${method} ${path} ${status}: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(body).slice(0, 400)}`);
}

const idOf = async (response: Response) => ((await response.clone().json()) as { id: string }).id;

test.serial('real answers of every service validate against the document', async (t) => {
  const { progimage, fixtures } = await servers();
  const base = progimage.baseUrl;
  const jpeg = await readFixture('320x240.jpg');
  const png = await readFixture('with-alpha.png');
  const authorization = bearer(TEST_API_KEY);
  const get = (path: string) => fetch(`${base}${path}`, { headers: authorization });
  const post = (path: string, body: NonNullable<RequestInit['body']>, type: string, headers: Record<string, string> = {}) =>
    fetch(`${base}${path}`, { method: 'POST', body, headers: { ...authorization, 'Content-Type': type, ...headers } });

  for (const path of ['/healthz', '/readyz', '/metrics']) await conforms(t, 'get', path, await fetch(`${base}${path}`));
  await conforms(t, 'get', '/v1/openapi.json', await get('/v1/openapi.json'));
  await conforms(t, 'get', '/v1/images', await get(`/v1/images`));

  const uploaded = await post('/v1/images', jpeg, 'image/jpeg', { 'Idempotency-Key': `openapi-${Date.now()}` });
  const id = await idOf(uploaded);
  await conforms(t, 'post', '/v1/images', uploaded);
  const form = new FormData();
  form.append('file', new Blob([jpeg]), 'a.jpg');
  form.append('file', new Blob([png]), 'b.png');
  await conforms(t, 'post', '/v1/images', await fetch(`${base}/v1/images`, { method: 'POST', body: form, headers: authorization }));
  await conforms(
    t,
    'post',
    '/v1/images',
    await post('/v1/images', JSON.stringify({ url: fixtures.url('with-alpha.png') }), 'application/json'),
  );
  await conforms(t, 'post', '/v1/images', await post('/v1/images', 'not an image', 'text/plain'));
  await conforms(t, 'post', '/v1/images', await post('/v1/images', JSON.stringify({ link: 'x' }), 'application/json'));

  await waitUntil(async () => ((await (await get(`/v1/images/${id}`)).json()) as { status?: string }).status === 'ready' || false, {
    timeoutMs: 120_000,
    intervalMs: 100,
    description: `image ${id} to be ready`,
  });
  await conforms(t, 'get', '/v1/images/{id}', await get(`/v1/images/${id}`));
  await conforms(t, 'get', '/v1/images/{id}', await get(`/v1/images/00000000-0000-4000-8000-000000000000`));
  await conforms(t, 'get', '/v1/images', await get(`/v1/images?limit=2`));
  await conforms(t, 'get', '/v1/images', await get(`/v1/images?limit=1000`));
  await conforms(t, 'get', '/v1/images/{id}.{extension}', await get(`/v1/images/${id}.webp?w=40`));
  await conforms(
    t,
    'get',
    '/v1/images/{id}.{extension}',
    await fetch(`${base}/v1/images/${id}.auto?w=40&dpr=auto`, { headers: { ...authorization, Accept: 'image/avif', 'Sec-CH-DPR': '2' } }),
  );
  for (const range of ['bytes=0-99', 'bytes=99999999-']) {
    await conforms(
      t,
      'get',
      '/v1/images/{id}.{extension}',
      await fetch(`${base}/v1/images/${id}.webp?w=40`, { headers: { ...authorization, Range: range } }),
    );
  }
  await conforms(t, 'get', '/v1/images/{id}.{extension}', await get(`/v1/images/${id}.webp?w=0`));
  await conforms(t, 'get', '/v1/images/{id}.{extension}', await get(`/v1/images/${id}.bmp`));
  await conforms(t, 'get', '/v1/images/{id}/variants/{file}', await get(`/v1/images/${id}/variants/thumbnail.webp`));
  await conforms(t, 'get', '/v1/images/{id}/variants/{file}', await get(`/v1/images/${id}/variants/nothing.webp`));

  await conforms(t, 'post', '/v1/transform', await post('/v1/transform?w=20&format=png', jpeg, 'image/jpeg'));
  await conforms(t, 'post', '/v1/transform', await post('/v1/transform?spin=3', jpeg, 'image/jpeg'));

  const batch = await post('/v1/batches', JSON.stringify({ images: [id], transforms: [{ w: 30, format: 'webp' }] }), 'application/json');
  const batchId = await idOf(batch);
  await conforms(t, 'post', '/v1/batches', batch);
  await conforms(t, 'post', '/v1/batches', await post('/v1/batches', JSON.stringify({ transforms: [] }), 'application/json'));
  await conforms(t, 'get', '/v1/batches/{id}/events', await get(`/v1/batches/${batchId}/events`));
  await conforms(t, 'get', '/v1/batches/{id}', await get(`/v1/batches/${batchId}`));
  await conforms(t, 'get', '/v1/batches/{id}/items/{index}/{file}', await get(`/v1/batches/${batchId}/items/0/0.webp`));
  await conforms(t, 'get', '/v1/batches/{id}/items/{index}/{file}', await get(`/v1/batches/${batchId}/items/9/0.webp`));

  const signing = await post('/v1/signed-urls', JSON.stringify({ path: `/v1/images/${id}.png?w=16`, expiresIn: 60 }), 'application/json');
  const { url: signed } = (await signing.clone().json()) as { url: string };
  await conforms(t, 'post', '/v1/signed-urls', signing);
  await conforms(t, 'post', '/v1/signed-urls', await post('/v1/signed-urls', JSON.stringify({ path: '/etc/passwd' }), 'application/json'));
  await conforms(t, 'get', '/v1/images/{id}.{extension}', await fetch(`${base}${signed}`));

  await conforms(t, 'delete', '/v1/images/{id}', await fetch(`${base}/v1/images/${id}`, { method: 'DELETE', headers: authorization }));
  await conforms(t, 'delete', '/v1/images/{id}', await fetch(`${base}/v1/images/${id}`, { method: 'DELETE', headers: authorization }));
});

test.serial('answers of the webhook routes validate against the document', async (t) => {
  const { progimage, fixtures } = await servers();
  const send = (method: string, path: string, body?: unknown) =>
    fetch(`${progimage.baseUrl}${path}`, {
      method,
      headers: { ...bearer(TEST_API_KEY), 'Content-Type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });

  const created = await send('POST', '/v1/webhooks', { url: `http://${fixtures.host}/hooks`, events: ['image.ready'] });
  const id = await idOf(created);
  await conforms(t, 'post', '/v1/webhooks', created);
  await conforms(t, 'post', '/v1/webhooks', await send('POST', '/v1/webhooks', { url: 'http://169.254.169.254/' }));
  await conforms(t, 'get', '/v1/webhooks', await send('GET', '/v1/webhooks'));
  await conforms(t, 'get', '/v1/webhooks/{id}', await send('GET', `/v1/webhooks/${id}`));
  await conforms(t, 'get', '/v1/webhooks/{id}', await send('GET', '/v1/webhooks/00000000-0000-4000-8000-000000000000'));
  await conforms(t, 'patch', '/v1/webhooks/{id}', await send('PATCH', `/v1/webhooks/${id}`, { enabled: false }));
  await conforms(
    t,
    'post',
    '/v1/webhooks/{id}/rotate-secret',
    await send('POST', `/v1/webhooks/${id}/rotate-secret`, { graceSeconds: 60 }),
  );
  await conforms(t, 'get', '/v1/webhooks/{id}/deliveries', await send('GET', `/v1/webhooks/${id}/deliveries?limit=5`));
  await conforms(t, 'get', '/v1/webhooks/{id}/deliveries', await send('GET', `/v1/webhooks/${id}/deliveries?state=lost`));
  await conforms(
    t,
    'post',
    '/v1/webhooks/{id}/deliveries/{deliveryId}/redeliver',
    await send('POST', `/v1/webhooks/${id}/deliveries/${id}/redeliver`),
  );
  await conforms(t, 'delete', '/v1/webhooks/{id}', await send('DELETE', `/v1/webhooks/${id}`));
});

/** What makes a parameter's schema more than "any text": a type other than string, a range, values, a pattern or a length. */
const CONSTRAINTS = ['enum', 'const', 'pattern', 'minimum', 'maximum', 'maxLength', 'format'];
const constrained = (schema: unknown): boolean => {
  if (typeof schema !== 'object' || schema === null) return false;
  const record = schema as Record<string, unknown>;
  const members = [record.anyOf, record.oneOf, record.allOf].find(Array.isArray) as unknown[] | undefined;
  if (members !== undefined) return members.every(constrained);
  if (record.type !== undefined && record.type !== 'string') return true;
  return CONSTRAINTS.some((keyword) => keyword in record);
};

test.serial('every transform option is typed in the document: a range, values, a pattern or a length, never bare text', async (t) => {
  await servers();
  const parameters = paths['/v1/transform']?.post?.parameters ?? [];
  const options = parameters.filter((parameter) => parameter.in === 'query' && parameter.name !== 'preset');
  t.deepEqual(options.map((parameter) => parameter.name).sort(), [...TRANSFORM_OPTION_NAMES].sort());
  const untyped = options.filter((parameter) => !constrained(parameter.schema)).map((parameter) => parameter.name);
  t.deepEqual(untyped, []);
});
