import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import test, { type ExecutionContext } from 'ava';
import {
  apiKeyViewSchema,
  createdIngestCredentialSchema,
  createdKeySchema,
  createdTenantSchema,
  ingestCredentialPageSchema,
  ingestCredentialViewSchema,
  keyPageSchema,
  rotatedTenantSchema,
  tenantPageSchema,
  tenantViewSchema,
} from '../../admin/views.ts';
import { createInProcessEventBus } from '../../lib/adapters/in-process-event-bus.ts';
import { ADMIN_TOKEN_HEADER } from '../../lib/http/admin-token.ts';
import { apiKeyHash } from '../../lib/auth/keys.ts';
import { signedUrlSchema } from '../../lib/auth/signed-urls.ts';
import { signUrl } from '../../lib/auth/signatures.ts';
import { waitUntil } from '../../lib/wait.ts';
import { anonymousRequest, bearer, errorSchema, json, TEST_API_KEY, upload, type Reply } from '../support/api.ts';
import { readFixture } from '../support/fixtures.ts';
import { startProgImage, type RunningProgImage } from '../support/progimage.ts';
import { runCommand, type CommandResult } from '../support/run-command.ts';
import { printedKey } from '../support/secured.ts';
import { outcomeFor, readOutcomes, requestIngest } from '../support/upstream.ts';

/*
 * The admin API of tenants, keys and signing secrets, and the admin command
 * through it, on the embedded default store: the layout where the command
 * cannot open the store itself while the server runs.
 */

const ADMIN_TOKEN = `test-admin-${randomUUID()}`;
const AUTH_CACHE_MS = 200;
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

interface EmbeddedProgImage {
  readonly baseUrl: string;
  readonly running: RunningProgImage;
  readonly dataDir: string;
  /** Stops the server (once; the teardown stops it otherwise). */
  stop(): Promise<void>;
}

async function embedded(
  t: ExecutionContext,
  env: Record<string, string> = { PROGIMAGE_ADMIN_TOKEN: ADMIN_TOKEN },
): Promise<EmbeddedProgImage> {
  const dataDir = await mkdtemp(join(tmpdir(), 'progimage-admin-api-'));
  const progimage = await startProgImage({ PROGIMAGE_DATA_DIR: dataDir, PROGIMAGE_AUTH_CACHE_MS: String(AUTH_CACHE_MS), ...env });
  let stopping: Promise<void> | undefined;
  const stop = () => (stopping ??= progimage.stop());
  t.teardown(async () => {
    await stop();
    await rm(dataDir, { recursive: true, force: true });
  });
  return { baseUrl: progimage.baseUrl, running: progimage, dataDir, stop };
}

/** An admin API call with the admin token as a bearer token; `body` as JSON, or as the text given. */
function asAdmin(baseUrl: string, method: string, path: string, body?: unknown): Promise<Reply> {
  return anonymousRequest(`${baseUrl}${path}`, {
    method,
    headers: { ...bearer(ADMIN_TOKEN), 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
}

/** The JSON of an answer that must have this status. */
function answered(reply: Reply, status: number): unknown {
  if (reply.status !== status) throw new Error(`expected ${status}, got ${reply.status}: ${reply.bytes.toString('utf8')}`);
  return json(reply);
}

/** The status of a cheap request made with `key`: 200 while it is valid. */
const statusWithKey = async (baseUrl: string, key: string): Promise<number> =>
  (await anonymousRequest(`${baseUrl}/v1/images?limit=1`, { headers: bearer(key) })).status;

/** `npm run admin -- ...args`, as an operator runs it, with `env` only. */
const adminCommand = (env: Record<string, string>, ...args: string[]): Promise<CommandResult> =>
  runCommand(process.execPath, ['--import', 'tsx', 'admin/cli.ts', ...args], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH, PROGIMAGE_LOG_LEVEL: 'warn', ...env },
  });

const linesOf = (text: string): string[] => text.trim().split('\n');

test('a tenant created through the admin API uploads with its first key; a revoked key is refused within the auth cache time', async (t) => {
  const { baseUrl } = await embedded(t);
  const created = createdTenantSchema.parse(
    answered(await asAdmin(baseUrl, 'POST', '/v1/admin/tenants', { name: 'acme', requestsPerSecond: 50 }), 201),
  );
  t.like(created.tenant, { name: 'acme', requestsPerSecond: 50, storedBytesQuota: null, signedGetsOnly: false, defaultTtlSeconds: null });
  t.is(created.key.sha256, apiKeyHash(created.key.key));
  t.is((await upload(baseUrl, await readFixture('320x240.jpg'), 'image/jpeg', bearer(created.key.key))).status, 202);

  const updated = tenantViewSchema.parse(
    answered(await asAdmin(baseUrl, 'PATCH', '/v1/admin/tenants/acme', { requestsPerSecond: null, defaultTtlSeconds: 600 }), 200),
  );
  t.like(updated, { requestsPerSecond: null, defaultTtlSeconds: 600, signedGetsOnly: false });
  t.deepEqual(tenantViewSchema.parse(answered(await asAdmin(baseUrl, 'GET', '/v1/admin/tenants/acme'), 200)), updated);

  const second = createdKeySchema.parse(answered(await asAdmin(baseUrl, 'POST', '/v1/admin/tenants/acme/keys', { label: 'ci' }), 201));
  t.like(second, { tenant: 'acme', label: 'ci', revokedAt: null });
  t.is(await statusWithKey(baseUrl, second.key), 200);

  const revoked = apiKeyViewSchema.parse(answered(await asAdmin(baseUrl, 'DELETE', `/v1/admin/keys/${created.key.sha256}`), 200));
  t.truthy(revoked.revokedAt);
  await waitUntil(async () => (await statusWithKey(baseUrl, created.key.key)) === 401 || false, {
    timeoutMs: 10_000,
    intervalMs: 50,
    description: 'the revoked key to be refused',
  });
  t.is(await statusWithKey(baseUrl, second.key), 200, 'the other key still works');

  t.like(apiKeyViewSchema.parse(answered(await asAdmin(baseUrl, 'POST', '/v1/admin/keys/revoke', { key: second.key }), 200)), {
    sha256: second.sha256,
  });
  const deleteRevoke = await asAdmin(baseUrl, 'DELETE', '/v1/admin/keys/revoke');
  t.is(deleteRevoke.status, 405, '/v1/admin/keys/revoke is not a sha256');
  t.is(deleteRevoke.headers.get('allow'), 'POST');
  await waitUntil(async () => (await statusWithKey(baseUrl, second.key)) === 401 || false, {
    timeoutMs: 10_000,
    intervalMs: 50,
    description: 'the key revoked by itself to be refused',
  });
  const { keys } = keyPageSchema.parse(answered(await asAdmin(baseUrl, 'GET', '/v1/admin/tenants/acme/keys'), 200));
  t.deepEqual(keys.map((key) => [key.label, key.revokedAt !== null]).sort(), [
    ['ci', true],
    ['created with the tenant', true],
  ]);
  t.false(JSON.stringify(keys).includes('pik_'), 'a listing never shows a key');

  const { tenants } = tenantPageSchema.parse(answered(await asAdmin(baseUrl, 'GET', '/v1/admin/tenants'), 200));
  t.deepEqual(
    tenants.map((tenant) => tenant.name),
    ['acme', 'default'],
  );
});

test("rotating a tenant's signing secret: URLs it signed before verify during the grace only, those signed after with the new secret", async (t) => {
  const { baseUrl } = await embedded(t);
  answered(await asAdmin(baseUrl, 'POST', '/v1/admin/tenants', { name: 'signer' }), 201);
  const sign = async () => {
    const reply = await asAdmin(baseUrl, 'POST', '/v1/admin/tenants/signer/signed-urls', {
      path: `/v1/images/${randomUUID()}.webp?w=40`,
      expiresIn: 600,
    });
    return signedUrlSchema.parse(answered(reply, 201)).url;
  };
  // A signed URL the gatekeeper admits reaches the route: 404, as no such image is stored. One it refuses is a 403.
  const statusOf = async (url: string) => (await anonymousRequest(`${baseUrl}${url}`)).status;
  const rotate = async (graceSeconds: number) =>
    rotatedTenantSchema.parse(answered(await asAdmin(baseUrl, 'POST', '/v1/admin/tenants/signer/signing-secret', { graceSeconds }), 200));

  const first = await sign();
  t.is(await statusOf(first), 404);

  t.is((await rotate(3600)).signingSecrets.length, 2);
  const second = await sign();
  await waitUntil(async () => (await statusOf(second)) === 404 || false, {
    timeoutMs: 10_000,
    intervalMs: 50,
    description: 'the new secret to verify',
  });
  t.is(await statusOf(first), 404, 'the replaced secret verifies during its grace');

  const rotated = await rotate(0);
  t.is(rotated.signingSecrets[0]?.retiresAt, null);
  const third = await sign();
  await waitUntil(async () => (await statusOf(third)) === 404 || false, {
    timeoutMs: 10_000,
    intervalMs: 50,
    description: 'the newest secret to verify',
  });
  t.is(await statusOf(second), 403, 'a secret retired without grace no longer verifies');
  t.is(await statusOf(first), 404, 'the first secret is still in its grace');
  t.false(JSON.stringify(rotated).includes('"secret"'), 'the secrets in the list are never shown');
  const signedByClient = signUrl(`/v1/images/${randomUUID()}.webp?w=40`, 'signer', rotated.signingSecret, new Date(Date.now() + 600_000));
  t.is(await statusOf(signedByClient), 404, 'the new secret, in the rotation answer alone, signs URLs the server admits');
  const shown = JSON.stringify(answered(await asAdmin(baseUrl, 'GET', '/v1/admin/tenants/signer'), 200));
  t.false(shown.includes(rotated.signingSecret), 'the tenant never shows it again');
});

test('the admin API refuses a body that is not valid with a 400 naming the field, and says which tenant or key does not exist', async (t) => {
  const { baseUrl } = await embedded(t);
  answered(await asAdmin(baseUrl, 'POST', '/v1/admin/tenants', { name: 'existing' }), 201);
  const cases: [method: string, path: string, body: unknown, field: RegExp][] = [
    ['POST', '/v1/admin/tenants', { name: 'Not A Name' }, /^name: expected a tenant name/],
    ['POST', '/v1/admin/tenants', { requestsPerSecond: 5 }, /^name: /],
    ['POST', '/v1/admin/tenants', { name: 'ok', requestsPerSecond: 0 }, /^requestsPerSecond: expected a number above 0/],
    ['POST', '/v1/admin/tenants', { name: 'ok', storedBytesQuota: 1.5 }, /^storedBytesQuota: expected a whole number of bytes/],
    ['POST', '/v1/admin/tenants', { name: 'ok', signedGetsOnly: 'yes' }, /^signedGetsOnly: expected true or false/],
    ['POST', '/v1/admin/tenants', { name: 'ok', defaultTtlSeconds: 10 * 365 * 24 * 3600 + 1 }, /^defaultTtlSeconds: at most/],
    ['POST', '/v1/admin/tenants', { name: 'ok', quota: 1 }, /"quota"/],
    ['PATCH', '/v1/admin/tenants/existing', { defaultTtlSeconds: 0 }, /^defaultTtlSeconds: expected a whole number of seconds/],
    ['POST', '/v1/admin/tenants/existing/keys', { label: 'x'.repeat(201) }, /^label: at most 200 characters/],
    ['POST', '/v1/admin/tenants/existing/signing-secret', { graceSeconds: -1 }, /^graceSeconds: expected a number of seconds/],
    ['POST', '/v1/admin/tenants/existing/signed-urls', { path: '/v1/images' }, /^path: expected the path of image bytes/],
    ['POST', '/v1/admin/keys/revoke', { key: '' }, /^key: expected the API key/],
    ['POST', '/v1/admin/tenants/existing/ingest-credentials', { label: 'x'.repeat(201) }, /^label: at most 200 characters/],
  ];
  for (const [method, path, body, field] of cases) {
    const reply = await asAdmin(baseUrl, method, path, body);
    const { error } = errorSchema.parse(json(reply));
    t.is(reply.status, 400, `${method} ${path} ${JSON.stringify(body)}`);
    t.is(error.code, 'invalid_body');
    t.regex(error.message, field);
  }
  t.is(errorSchema.parse(json(await asAdmin(baseUrl, 'POST', '/v1/admin/tenants', '{"name": '))).error.code, 'invalid_json');

  const missing: [method: string, path: string, body: unknown, status: number, code: string][] = [
    ['POST', '/v1/admin/tenants', { name: 'existing' }, 409, 'tenant_exists'],
    ['GET', '/v1/admin/tenants/nobody', undefined, 404, 'tenant_not_found'],
    ['PATCH', '/v1/admin/tenants/nobody', {}, 404, 'tenant_not_found'],
    ['POST', '/v1/admin/tenants/nobody/keys', {}, 404, 'tenant_not_found'],
    ['POST', '/v1/admin/tenants/nobody/signing-secret', {}, 404, 'tenant_not_found'],
    ['DELETE', `/v1/admin/keys/${'0'.repeat(64)}`, undefined, 404, 'key_not_found'],
    ['DELETE', '/v1/admin/keys/not-a-hash', undefined, 404, 'not_found'],
    ['POST', '/v1/admin/tenants/nobody/ingest-credentials', {}, 404, 'tenant_not_found'],
    ['GET', '/v1/admin/tenants/nobody/ingest-credentials', undefined, 404, 'tenant_not_found'],
    ['DELETE', '/v1/admin/ingest-credentials/ing_AAAAAAAAAAAAAAAA', undefined, 404, 'credential_not_found'],
  ];
  for (const [method, path, body, status, code] of missing) {
    const reply = await asAdmin(baseUrl, method, path, body);
    t.is(reply.status, status, `${method} ${path}`);
    t.is(errorSchema.parse(json(reply)).error.code, code);
  }
});

test("the tenant admin API admits the admin token alone, never a tenant's API key, and is off without a token", async (t) => {
  const { baseUrl } = await embedded(t);
  const refusals: [what: string, headers: Record<string, string>, code: string][] = [
    ['no credentials', {}, 'admin_token_required'],
    ["a tenant's API key", bearer(TEST_API_KEY), 'admin_token_invalid'],
    ['a wrong token', bearer(`${ADMIN_TOKEN}x`), 'admin_token_invalid'],
    [
      'a wrong token beside a valid API key',
      { ...bearer(TEST_API_KEY), [ADMIN_TOKEN_HEADER]: 'wrong-token-of-some-length' },
      'admin_token_invalid',
    ],
  ];
  for (const [what, headers, code] of refusals) {
    const reply = await anonymousRequest(`${baseUrl}/v1/admin/tenants`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: '{"name":"intruder"}',
    });
    t.is(reply.status, 401, what);
    t.is(errorSchema.parse(json(reply)).error.code, code, what);
    t.is(reply.headers.get('cache-control'), 'no-store');
  }
  for (const headers of [
    bearer(ADMIN_TOKEN),
    { [ADMIN_TOKEN_HEADER]: ADMIN_TOKEN },
    { ...bearer(TEST_API_KEY), [ADMIN_TOKEN_HEADER]: ADMIN_TOKEN },
  ]) {
    const reply = await anonymousRequest(`${baseUrl}/v1/admin/tenants/default`, { headers });
    t.is(reply.status, 200, Object.keys(headers).join(' and '));
    t.is(reply.headers.get('cache-control'), 'no-store');
  }
  t.is((await asAdmin(baseUrl, 'GET', '/v1/admin/tenants/intruder')).status, 404, 'no refused request created anything');

  const off = await embedded(t, {});
  const reply = await asAdmin(off.baseUrl, 'GET', '/v1/admin/tenants');
  t.is(reply.status, 403);
  t.is(errorSchema.parse(json(reply)).error.code, 'admin_disabled');
});

test('the admin command with --url manages tenants through the admin API while the server runs on the embedded store, and prints what it prints without', async (t) => {
  const progimage = await embedded(t);
  const env = { PROGIMAGE_ADMIN_TOKEN: ADMIN_TOKEN };
  const created = await adminCommand(env, '--url', progimage.baseUrl, 'tenant', 'create', 'from-cli', '--requests-per-second', '20');
  t.is(created.code, 0, created.stderr);
  const key = printedKey(created.stdout.toString('utf8'));
  t.is((await upload(progimage.baseUrl, await readFixture('320x240.jpg'), 'image/jpeg', bearer(key))).status, 202);

  const refused = await adminCommand({ PROGIMAGE_ADMIN_TOKEN: `${ADMIN_TOKEN}x` }, '--url', progimage.baseUrl, 'tenant', 'list');
  t.is(refused.code, 1);
  t.deepEqual(linesOf(refused.stderr), ["the admin token is not valid (a tenant's API key does not open the admin API)"]);
  const invalid = await adminCommand(env, '--url', progimage.baseUrl, 'tenant', 'set', 'from-cli', '--default-ttl', 'forever');
  t.is(invalid.code, 64);
  t.regex(invalid.stderr, /^--default-ttl: expected a whole number of seconds above 0, got "forever"/);

  const throughApi = await adminCommand(env, '--url', progimage.baseUrl, 'tenant', 'show', 'from-cli');
  t.is(throughApi.code, 0, throughApi.stderr);
  await progimage.stop();
  const onStore = await adminCommand({ PROGIMAGE_DATA_DIR: progimage.dataDir }, 'tenant', 'show', 'from-cli');
  t.is(onStore.code, 0, onStore.stderr);
  t.is(onStore.stdout.toString('utf8'), throughApi.stdout.toString('utf8'));
  t.like(JSON.parse(onStore.stdout.toString('utf8')), { name: 'from-cli', requestsPerSecond: 20 });
});

test('an ingest credential is issued with its secret shown once, signs requests, is listed without its secret, and once revoked signs nothing', async (t) => {
  const progimage = await embedded(t);
  const env = { PROGIMAGE_ADMIN_TOKEN: ADMIN_TOKEN };
  const created = await adminCommand(
    env,
    '--url',
    progimage.baseUrl,
    'ingest-credential',
    'create',
    'default',
    '--label',
    'photo-importer',
  );
  t.is(created.code, 0, created.stderr);
  const printed = /key id: (ing_\S+)\n\s+secret: (ingsec_\S+)/.exec(created.stdout.toString('utf8'));
  const [, keyId = '', secret = ''] = printed ?? [];
  t.truthy(printed, created.stdout.toString('utf8'));

  const outcomes = await readOutcomes(progimage.running);
  t.teardown(() => outcomes.stop());
  const key = `incoming/default/${randomUUID()}.jpg`;
  await progimage.running.blobs.put(key, await readFixture('320x240.jpg'), { contentType: 'image/jpeg' });
  const accepted = await requestIngest(progimage.running, { keyId, secret }, 'default', { key });
  await outcomes.next(outcomeFor('image.ready', accepted), 'the request signed with the printed secret to be taken in');

  const listed = await adminCommand(env, '--url', progimage.baseUrl, 'ingest-credential', 'list', 'default');
  t.is(listed.code, 0, listed.stderr);
  t.like(JSON.parse(listed.stdout.toString('utf8')), [{ keyId, tenant: 'default', label: 'photo-importer', revokedAt: null }]);
  const page = ingestCredentialPageSchema.parse(
    answered(await asAdmin(progimage.baseUrl, 'GET', '/v1/admin/tenants/default/ingest-credentials'), 200),
  );
  t.false(JSON.stringify(page).includes('ingsec_') || listed.stdout.toString('utf8').includes('ingsec_'), 'a listing never shows a secret');

  const revoked = await adminCommand(env, '--url', progimage.baseUrl, 'ingest-credential', 'revoke', keyId);
  t.is(revoked.code, 0, revoked.stderr);
  t.is(revoked.stdout.toString('utf8').trim(), `revoked ${keyId}`);
  const refused = await requestIngest(progimage.running, { keyId, secret }, 'default', { key });
  const rejection = await outcomes.next(
    (outcome) => outcome.type === 'ingest.rejected' && outcome.imageId === refused,
    'the request signed after revocation to be rejected',
  );
  t.like(rejection, { payload: { reason: 'credential_revoked' } });
  const api = createdIngestCredentialSchema.parse(
    answered(await asAdmin(progimage.baseUrl, 'POST', '/v1/admin/tenants/default/ingest-credentials', {}), 201),
  );
  t.like(api, { tenant: 'default', label: '', revokedAt: null });
  t.true(api.secret.startsWith('ingsec_'));
  t.truthy(
    ingestCredentialViewSchema.parse(answered(await asAdmin(progimage.baseUrl, 'DELETE', `/v1/admin/ingest-credentials/${api.keyId}`), 200))
      .revokedAt,
  );
});

test('the admin command without --url manages tenants on the embedded store while a server runs on it', async (t) => {
  const progimage = await embedded(t);
  const created = await adminCommand({ PROGIMAGE_DATA_DIR: progimage.dataDir }, 'tenant', 'create', 'beside-the-server');
  t.is(created.code, 0, created.stderr);
  const key = printedKey(created.stdout.toString('utf8'));

  t.is((await upload(progimage.baseUrl, await readFixture('320x240.jpg'), 'image/jpeg', bearer(key))).status, 202);
  const revoked = await adminCommand({ PROGIMAGE_DATA_DIR: progimage.dataDir }, 'key', 'revoke', key);
  t.is(revoked.code, 0, revoked.stderr);
  await waitUntil(async () => (await statusWithKey(progimage.baseUrl, key)) === 401, {
    timeoutMs: 10 * AUTH_CACHE_MS,
    intervalMs: 100,
    description: 'the revoked key to be refused',
  });
});

test('a server that cannot start says why in one line and exits non-zero: its event bus held by another process, or its port taken', async (t) => {
  const held = await mkdtemp(join(tmpdir(), 'progimage-held-'));
  const free = await mkdtemp(join(tmpdir(), 'progimage-free-'));
  t.teardown(() => Promise.all([rm(held, { recursive: true, force: true }), rm(free, { recursive: true, force: true })]));
  const holder = await createInProcessEventBus(held);
  t.teardown(() => holder.close());
  const { baseUrl } = await embedded(t);
  const takenPort = new URL(baseUrl).port;

  const cases: [what: string, env: Record<string, string>, line: RegExp][] = [
    [
      'the bus held',
      { PROGIMAGE_DATA_DIR: held, PROGIMAGE_HTTP_PORT: '0' },
      /^progimage could not start: .*bus\.sqlite is open in another process/,
    ],
    [
      'the port taken',
      { PROGIMAGE_DATA_DIR: free, PROGIMAGE_HTTP_HOST: '127.0.0.1', PROGIMAGE_HTTP_PORT: takenPort },
      /^progimage could not start: .*EADDRINUSE/,
    ],
  ];
  for (const [what, env, line] of cases) {
    const result = await runCommand(process.execPath, ['--import', 'tsx', 'main.ts'], {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH, PROGIMAGE_LOG_LEVEL: 'error', ...env },
    });
    t.is(result.code, 1, what);
    t.is(linesOf(result.stderr).length, 1, `${what}: ${result.stderr}`);
    t.regex(result.stderr, line, what);
  }
});
