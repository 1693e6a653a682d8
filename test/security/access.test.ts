import test from 'ava';
import sharp from 'sharp';
import { createCatalogStore } from '../../lib/adapters/index.ts';
import { signUrl } from '../../lib/auth/signatures.ts';
import { currentSecret, openTenantCollections } from '../../lib/auth/tenants.ts';
import { loadConfig } from '../../lib/config/index.ts';
import { waitUntil } from '../../lib/wait.ts';
import {
  anonymousRequest,
  bearer,
  errorSchema,
  json,
  request,
  upload,
  uploadAccepted,
  waitForFinalStatus,
  type Reply,
} from '../support/api.ts';
import { spawnChildService } from '../support/child-service.ts';
import { readFixture } from '../support/fixtures.ts';
import { admin, printedKey, startSecured, type SecuredProgImage } from '../support/secured.ts';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Keys and tenants are remembered this long by the services: revocations and rotations take effect within it. */
const AUTH_CACHE_MS = 300;

let secured: Promise<SecuredProgImage> | undefined;
const progimage = () => (secured ??= startSecured('access', { PROGIMAGE_AUTH_CACHE_MS: String(AUTH_CACHE_MS) }));
test.after.always(async () => {
  if (secured !== undefined) await (await secured).stop();
});

const errorCode = (reply: Reply): string => errorSchema.parse(json(reply)).error.code;

/** A tenant made with the admin command, and its key. */
async function newTenant(name: string, ...flags: string[]): Promise<{ name: string; key: string }> {
  const { env } = await progimage();
  return { name, key: printedKey(await admin(env, 'tenant', 'create', name, ...flags)) };
}

let readyImage: Promise<string> | undefined;
/** One ready image of the default tenant (the tests' key). */
const defaultTenantImage = () =>
  (readyImage ??= progimage().then(async ({ running }) => {
    const id = await uploadAccepted(running.baseUrl, await readFixture('320x240.jpg'));
    if ((await waitForFinalStatus(running.baseUrl, id)).status !== 'ready') throw new Error('the image did not become ready');
    return id;
  }));

test('without a valid API key the API answers 401 with a JSON error and a WWW-Authenticate challenge; health checks stay open', async (t) => {
  const { running } = await progimage();
  const id = await defaultTenantImage();
  for (const headers of [
    {},
    { authorization: 'Basic dXNlcjpwYXNz' },
    { authorization: 'Bearer pik_not-a-key-anyone-was-given-0000000000' },
  ]) {
    for (const [method, path] of [
      ['GET', `/v1/images/${id}`],
      ['GET', `/v1/images/${id}.webp`],
      ['DELETE', `/v1/images/${id}`],
      ['POST', '/v1/images'],
    ] as const) {
      const reply = await anonymousRequest(`${running.baseUrl}${path}`, { method, headers });
      t.is(reply.status, 401, `${method} ${path} with ${JSON.stringify(headers)}`);
      t.is(errorCode(reply), 'unauthenticated');
      t.regex(reply.headers.get('www-authenticate') ?? '', /^Bearer/);
    }
  }
  t.is((await request(`${running.baseUrl}/v1/images/${id}`)).status, 200, 'the DELETEs without a key deleted nothing');
  for (const open of ['/healthz', '/readyz', '/metrics']) t.is((await anonymousRequest(`${running.baseUrl}${open}`)).status, 200, open);
});

test("a tenant sees only its own images: another tenant's id is a 404 exactly like an unknown one, in every route", async (t) => {
  const { running } = await progimage();
  const id = await defaultTenantImage();
  const other = await newTenant('other-tenant');
  const asOther = (path: string, init: RequestInit = {}) => request(`${running.baseUrl}${path}`, { ...init, headers: bearer(other.key) });
  // The owner's GET puts the image in the response cache first: the other tenant must not be answered from it.
  t.is((await request(`${running.baseUrl}/v1/images/${id}.webp?w=50`)).status, 200);
  const unknown = await asOther('/v1/images/00000000-0000-4000-8000-000000000000');
  for (const path of [
    `/v1/images/${id}`,
    `/v1/images/${id}.webp`,
    `/v1/images/${id}.webp?w=50`,
    `/v1/images/${id}/variants/thumbnail.webp`,
  ]) {
    const reply = await asOther(path);
    t.is(reply.status, 404, path);
    t.deepEqual(json(reply), json(unknown), path);
  }
  t.is((await asOther(`/v1/images/${id}`, { method: 'DELETE' })).status, 404);
  t.deepEqual(json(await asOther('/v1/images')), { images: [], next: null });
  t.is((await request(`${running.baseUrl}/v1/images/${id}`)).status, 200, "the owner's image is untouched");
  // And the other way round: the other tenant's upload is invisible to the default tenant.
  const theirs = await uploadAccepted(running.baseUrl, await readFixture('320x240.jpg'), 'application/octet-stream', other.key);
  // Once the catalog knows the upload (its owner sees it), so that the 404 is not just "not yet".
  await waitForFinalStatus(running.baseUrl, theirs, other.key);
  t.is((await request(`${running.baseUrl}/v1/images/${theirs}`)).status, 404);
  t.is((await request(`${running.baseUrl}/v1/images/${theirs}.webp`)).status, 404);
});

test('a revoked key stops working; the tenant’s other keys do not', async (t) => {
  const { running, env } = await progimage();
  const tenant = await newTenant('revoking');
  const second = printedKey(await admin(env, 'key', 'create', tenant.name, '--label', 'second'));
  const list = (key: string) => request(`${running.baseUrl}/v1/images`, { headers: bearer(key) });
  t.is((await list(tenant.key)).status, 200);
  await admin(env, 'key', 'revoke', tenant.key);
  const refused = await waitUntil(
    async () => {
      const reply = await list(tenant.key);
      return reply.status === 401 ? reply : false;
    },
    { timeoutMs: AUTH_CACHE_MS * 20, intervalMs: 50, description: 'the revoked key to be refused' },
  );
  t.is(errorCode(refused), 'unauthenticated');
  t.is((await list(second)).status, 200);
});

test('signed URLs: anyone may GET until expiry; a tampered, expired or misused one is a 403', async (t) => {
  const { running } = await progimage();
  const id = await defaultTenantImage();
  const path = `/v1/images/${id}.png?w=40&h=30`;
  const keyed = await request(`${running.baseUrl}${path}`);
  const signed = json(
    await request(`${running.baseUrl}/v1/signed-urls`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ path, expiresIn: 600 }),
    }),
  ) as { url: string; expiresAt: string };
  t.regex(signed.url, /[?&]signature=/);

  for (let attempt = 0; attempt < 2; attempt += 1) {
    const anonymous = await anonymousRequest(`${running.baseUrl}${signed.url}`);
    t.is(anonymous.status, 200, `attempt ${attempt + 1}: ${anonymous.bytes.toString('utf8', 0, 200)}`);
    t.deepEqual(anonymous.bytes, keyed.bytes, 'the same bytes as with a key (the second time from the response cache)');
  }
  const tampered = [
    signed.url.replace('w=40', 'w=41'),
    signed.url.replace(id, '00000000-0000-4000-8000-000000000000'),
    signed.url.replace('.png', '.webp'),
    `${signed.url}&blur=3`,
    signed.url.replace(/signature=[^&]+/, 'signature=AAAA'),
    signed.url.replace(/expires=\d+/, (match) => `expires=${Number(match.slice(8)) + 1}`),
  ];
  for (const url of tampered) {
    const reply = await anonymousRequest(`${running.baseUrl}${url}`);
    t.is(reply.status, 403, url);
    t.is(errorCode(reply), 'signature_invalid', url);
  }
  const deleteBySignature = await anonymousRequest(`${running.baseUrl}${signed.url}`, { method: 'DELETE' });
  t.is(deleteBySignature.status, 403, 'a signature never allows anything but GET and HEAD');

  const store = await createCatalogStore(loadConfig((await progimage()).env));
  t.teardown(() => store.close());
  const { tenants } = await openTenantCollections(store);
  const tenant = (await tenants.get('default'))?.document;
  if (tenant === undefined) throw new Error('no default tenant');
  const expired = signUrl(path, 'default', currentSecret(tenant), new Date(Date.now() - 1000));
  const reply = await anonymousRequest(`${running.baseUrl}${expired}`);
  t.is(reply.status, 403);
  t.is(errorCode(reply), 'signature_expired');
  t.is((await anonymousRequest(`${running.baseUrl}${path}`)).status, 401, 'the same path unsigned and without a key');
});

test('rotating the signing secret keeps URLs already handed out valid for the grace period, then refuses them', async (t) => {
  const { running, env } = await progimage();
  const tenant = await newTenant('rotating');
  const id = await uploadAccepted(running.baseUrl, await readFixture('320x240.jpg'), 'application/octet-stream', tenant.key);
  t.is((await waitForFinalStatus(running.baseUrl, id, tenant.key)).status, 'ready');
  const before = (await admin(env, 'sign', tenant.name, `/v1/images/${id}.jpg?w=20`)).trim();
  t.is((await anonymousRequest(`${running.baseUrl}${before}`)).status, 200);
  await admin(env, 'signing', 'rotate', tenant.name, '--grace-seconds', '10');
  const after = (await admin(env, 'sign', tenant.name, `/v1/images/${id}.jpg?w=20`)).trim();
  t.not(after, before);
  t.is((await anonymousRequest(`${running.baseUrl}${before}`)).status, 200, 'the old secret still verifies during the grace period');
  t.is((await anonymousRequest(`${running.baseUrl}${after}`)).status, 200);
  const refused = await waitUntil(
    async () => {
      const reply = await anonymousRequest(`${running.baseUrl}${before}`);
      return reply.status === 403 ? reply : false;
    },
    { timeoutMs: 60_000, intervalMs: 200, description: 'the old secret to retire' },
  );
  t.is(errorCode(refused), 'signature_invalid');
  t.is((await anonymousRequest(`${running.baseUrl}${after}`)).status, 200);
});

test('a tenant that requires signatures gets 403 for image bytes fetched with only a key; metadata still works with the key', async (t) => {
  const { running, env } = await progimage();
  const tenant = await newTenant('signed-only', '--signed-gets-only', 'true');
  const id = await uploadAccepted(running.baseUrl, await readFixture('320x240.jpg'), 'application/octet-stream', tenant.key);
  // The catalog learns of an upload moments after its 202.
  const meta = await waitUntil(
    async () => {
      const reply = await request(`${running.baseUrl}/v1/images/${id}`, { headers: bearer(tenant.key) });
      return reply.status === 404 ? false : reply;
    },
    { timeoutMs: 60_000, intervalMs: 100, description: 'the catalog to know the upload' },
  );
  t.is(meta.status, 200);
  const bytes = await request(`${running.baseUrl}/v1/images/${id}.webp`, { headers: bearer(tenant.key) });
  t.is(bytes.status, 403);
  t.is(errorCode(bytes), 'signature_required');
  await admin(env, 'tenant', 'set', tenant.name, '--signed-gets-only', 'false');
  await waitUntil(async () => (await request(`${running.baseUrl}/v1/images/${id}.webp`, { headers: bearer(tenant.key) })).status !== 403, {
    timeoutMs: AUTH_CACHE_MS * 20,
    intervalMs: 50,
    description: 'the setting to be seen',
  });
  t.pass();
});

test('a tenant over its request rate gets 429 with Retry-After, and is served again after waiting', async (t) => {
  const { running } = await progimage();
  const tenant = await newTenant('rate-limited', '--requests-per-second', '2');
  const list = () => request(`${running.baseUrl}/v1/images`, { headers: bearer(tenant.key) });
  const replies = await Promise.all(Array.from({ length: 8 }, list));
  const limited = replies.filter((reply) => reply.status === 429);
  t.true(limited.length >= 5, `statuses: ${replies.map((reply) => reply.status).join(', ')}`);
  t.true(replies.filter((reply) => reply.status === 200).length >= 1);
  const [first] = limited;
  if (first === undefined) return;
  t.is(errorCode(first), 'rate_limited');
  const retryAfter = Number(first.headers.get('retry-after'));
  t.true(retryAfter >= 1, `Retry-After: ${first.headers.get('retry-after') ?? 'none'}`);
  t.is((await request(`${running.baseUrl}/v1/images`)).status, 200, 'another tenant is not limited');
  await new Promise((resolve) => setTimeout(resolve, retryAfter * 1000)); // waiting as Retry-After says is the behaviour under test
  t.is((await list()).status, 200);
});

test('a tenant at its storage quota is refused with 403 and nothing stored; deleting frees the space', async (t) => {
  const { running } = await progimage();
  const fixture = await readFixture('320x240.jpg');
  const tenant = await newTenant('quota', '--stored-bytes', String(Math.floor(fixture.length * 1.5)));
  const first = await uploadAccepted(running.baseUrl, fixture, 'application/octet-stream', tenant.key);
  // Scanned or further: the catalog recorded the upload, and its bytes, well before.
  const pastUpload = async (id: string) => {
    const reply = await request(`${running.baseUrl}/v1/images/${id}`, { headers: bearer(tenant.key) });
    return reply.status === 200 && (json(reply) as { status: string }).status !== 'uploaded';
  };
  await waitUntil(() => pastUpload(first), { timeoutMs: 120_000, intervalMs: 100, description: 'the upload to be recorded' });
  const refused = await upload(running.baseUrl, fixture, 'application/octet-stream', bearer(tenant.key));
  t.is(refused.status, 403);
  t.is(errorCode(refused), 'storage_quota_exceeded');
  t.is((json(await request(`${running.baseUrl}/v1/images`, { headers: bearer(tenant.key) })) as { images: unknown[] }).images.length, 1);
  t.is((await request(`${running.baseUrl}/v1/images/${first}`, { method: 'DELETE', headers: bearer(tenant.key) })).status, 204);
  t.is((await upload(running.baseUrl, fixture, 'application/octet-stream', bearer(tenant.key))).status, 202);
});

test('a new installation creates the default tenant and prints its key once; the key works', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'progimage-first-start-'));
  t.teardown(() => rm(dataDir, { recursive: true, force: true }));
  const env = { PATH: process.env.PATH, HOME: process.env.HOME, PROGIMAGE_DATA_DIR: dataDir, PROGIMAGE_LOG_LEVEL: 'warn' };
  const first = await spawnChildService('main.ts', env);
  t.teardown(() => first.stop());
  await first.ready(60_000);
  const key = printedKey(first.output());
  t.is((await anonymousRequest(`${first.baseUrl}/v1/images`, { headers: bearer(key) })).status, 200);
  t.is((await anonymousRequest(`${first.baseUrl}/v1/images`)).status, 401);
  await first.stop();
  const second = await spawnChildService('main.ts', env);
  t.teardown(() => second.stop());
  await second.ready(60_000);
  t.notRegex(second.output(), /pik_/, 'the key is printed only when the tenant is created');
  t.is((await anonymousRequest(`${second.baseUrl}/v1/images`, { headers: bearer(key) })).status, 200);
  const image = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#fff' } })
    .png()
    .toBuffer();
  t.is((await upload(second.baseUrl, image, 'application/octet-stream', bearer(key))).status, 202);
});
