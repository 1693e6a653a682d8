import test from 'ava';
import { z } from 'zod';
import { waitUntil } from '../../lib/wait.ts';
import { bearer, json, request, TEST_API_KEY, upload } from '../support/api.ts';
import { readFixture } from '../support/fixtures.ts';
import { admin, printedKey, startSecured, type SecuredProgImage } from '../support/secured.ts';

const SERVICE_DEFAULT_TTL_SECONDS = 86_400;
const AUTH_CACHE_MS = 200;

let secured: Promise<SecuredProgImage> | undefined;
const progimage = () =>
  (secured ??= startSecured('tenant-ttl', {
    PROGIMAGE_DEFAULT_TTL_SECONDS: String(SERVICE_DEFAULT_TTL_SECONDS),
    PROGIMAGE_AUTH_CACHE_MS: String(AUTH_CACHE_MS),
  }));
test.after.always(async () => {
  if (secured !== undefined) await (await secured).stop();
});

const expiringSchema = z
  .object({ expiresAt: z.iso.datetime().nullable(), stages: z.object({ upload: z.object({ state: z.string() }).loose() }).loose() })
  .loose();

/**
 * Uploads as `key` (with `headers`) and resolves to the seconds between the
 * upload and the expiry its metadata shows, or null when it never expires.
 */
async function uploadedTtl(key: string, headers: Record<string, string> = {}): Promise<number | null> {
  const { running } = await progimage();
  const before = Date.now();
  const reply = await upload(running.baseUrl, await readFixture('320x240.jpg'), 'image/jpeg', { ...bearer(key), ...headers });
  if (reply.status !== 202) throw new Error(`upload answered ${reply.status}: ${reply.bytes.toString('utf8')}`);
  const { id } = z.object({ id: z.string() }).parse(json(reply));
  // The catalog records the upload, and its expiry, moments after the 202; until then the image answers with its upload pending.
  const image = await waitUntil(
    async () => {
      const found = await request(`${running.baseUrl}/v1/images/${id}`, { headers: bearer(key) });
      const recorded = found.status === 200 ? expiringSchema.parse(json(found)) : null;
      return recorded?.stages.upload.state === 'done' ? recorded : false;
    },
    { timeoutMs: 60_000, intervalMs: 50, description: `image ${id} in the catalog` },
  );
  return image.expiresAt === null ? null : Math.round((Date.parse(image.expiresAt) - before) / 1000);
}

test("a tenant's default time to live applies to its uploads that name none; a ttl the upload names wins; without one the service's default applies", async (t) => {
  t.timeout(240_000);
  const { env } = await progimage();
  const key = printedKey(await admin(env, 'tenant', 'create', 'short-lived', '--default-ttl', '600'));

  t.is(await uploadedTtl(key), 600, "the tenant's default");
  t.is(await uploadedTtl(key, { 'X-ProgImage-TTL': '30' }), 30, 'the ttl the upload names');
  t.is(await uploadedTtl(TEST_API_KEY), SERVICE_DEFAULT_TTL_SECONDS, 'a tenant without a default: the service default');

  const shown = z
    .object({ defaultTtlSeconds: z.number().nullable() })
    .loose()
    .parse(JSON.parse(await admin(env, 'tenant', 'show', 'short-lived')));
  t.is(shown.defaultTtlSeconds, 600);
  await admin(env, 'tenant', 'set', 'short-lived', '--default-ttl', 'none');
  await waitUntil(async () => (await uploadedTtl(key)) === SERVICE_DEFAULT_TTL_SECONDS, {
    timeoutMs: 30_000,
    intervalMs: AUTH_CACHE_MS,
    description: 'the cleared tenant default to reach the ingest service',
  });
});

test('the admin command refuses a default time to live that is not a whole number of seconds within the limit', async (t) => {
  const { env } = await progimage();
  for (const bad of ['0', '1.5', 'forever', String(10 * 365 * 24 * 3600 + 1)]) {
    const error = await t.throwsAsync(admin(env, 'tenant', 'create', `bad-ttl-${bad.length}`, '--default-ttl', bad));
    t.regex(error.message, /--default-ttl/, bad);
  }
});
