import { fileURLToPath } from 'node:url';
import test from 'ava';
import sharp from 'sharp';
import { DEFAULT_TENANT } from '../../lib/ids.ts';
import { waitUntil } from '../../lib/wait.ts';
import { ProgImage, type ImageUrlOptions } from '../../sdk/src/index.ts';
import { anonymousRequest, errorSchema, json, TEST_API_KEY, type Reply } from '../support/api.ts';
import { fixturePath } from '../support/fixtures.ts';
import { runCommand } from '../support/run-command.ts';
import { admin, startSecured, type SecuredProgImage } from '../support/secured.ts';

/*
 * The client signs URLs itself when it is given the tenant's signing secret
 * (printed once by `npm run admin -- signing rotate`): no call to the
 * server, the very URL the server's POST /v1/signed-urls makes for the same
 * image and options, served without a key until it expires, refused changed.
 */

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = fileURLToPath(new URL('../../sdk/src/cli/main.ts', import.meta.url));
/** Nothing listens there: a client pointed at it can make no call. */
const NOWHERE = 'http://127.0.0.1:9';

interface Setup {
  readonly secured: SecuredProgImage;
  readonly baseUrl: string;
  /** Signs through the server (POST /v1/signed-urls), with the API key. */
  readonly keyed: ProgImage;
  /** Signs locally, with the default tenant's secret, and has no API key. */
  readonly signing: ProgImage;
  /** A ready image of the default tenant (Landscape_1.jpg, 600x450). */
  readonly id: string;
  readonly secret: string;
}

let started: Promise<Setup> | undefined;
test.after.always(async () => {
  await (await started)?.secured.stop();
});

const expiresOf = (url: string): string | null => new URL(url).searchParams.get('expires');

/** The URL the server signs and the one the client signs for the same image, options and lifetime, made within one second (so with one expiry). */
async function signedBothWays(
  { keyed, signing, id }: Setup,
  options: ImageUrlOptions,
  expiresIn = 600,
): Promise<{ server: string; local: string }> {
  for (let attempt = 0; attempt < 5; attempt += 1) {
    const server = (await keyed.images.signedUrl(id, options, { expiresIn })).url;
    const local = (await signing.images.signedUrl(id, options, { expiresIn })).url;
    if (expiresOf(server) === expiresOf(local)) return { server, local };
  }
  throw new Error('five attempts crossed a second boundary');
}

async function start(): Promise<Setup> {
  const secured = await startSecured('sdk-signing');
  const { baseUrl } = secured.running;
  const keyed = new ProgImage({ baseUrl, apiKey: TEST_API_KEY });
  const { id } = await keyed.images.upload(fixturePath('Landscape_1.jpg'));
  await keyed.images.waitUntilReady(id);
  const printed = await admin(secured.env, 'signing', 'rotate', DEFAULT_TENANT, '--grace-seconds', '0');
  const secret = /PROGIMAGE_SIGNING_SECRET=(\S+)/.exec(printed)?.[1];
  if (secret === undefined) throw new Error(`the admin command printed no signing secret:\n${printed}`);
  const setup = { secured, baseUrl, keyed, signing: new ProgImage({ baseUrl, signing: { tenant: DEFAULT_TENANT, secret } }), id, secret };
  // A rotated secret is in force once the services' tenant caches have expired (PROGIMAGE_AUTH_CACHE_MS).
  await waitUntil(
    async () => {
      const { server, local } = await signedBothWays(setup, { format: 'png' });
      return server === local;
    },
    { timeoutMs: 30_000, intervalMs: 250, description: 'the server to sign with the rotated secret' },
  );
  return setup;
}

const setup = (): Promise<Setup> => (started ??= start());
const errorCode = (reply: Reply): string => errorSchema.parse(json(reply)).error.code;

test.serial('a URL the client signs is the one the server signs, and the server serves it without a key', async (t) => {
  const s = await setup();
  const cases: readonly (readonly [ImageUrlOptions, 'webp' | 'png' | 'jpeg', number])[] = [
    [{ format: 'webp', w: 100 }, 'webp', 100],
    [{ format: 'png', width: 120, height: 120, fit: 'cover', g: 'attention', blur: 1.5 }, 'png', 120],
    // Text that needs encoding in a query: spaces, markup characters, "+", non-ASCII.
    [{ format: 'jpg', w: 200, text: 'a <b> & c+d ünï 🙂', text_color: 'white', text_gravity: 'north' }, 'jpeg', 200],
  ];
  for (const [options, expectedFormat, expectedWidth] of cases) {
    const { server, local } = await signedBothWays(s, options);
    t.is(local, server, JSON.stringify(options));
    const reply = await anonymousRequest(local);
    t.is(reply.status, 200, `${local}: ${reply.bytes.toString('utf8', 0, 200)}`);
    const { format, width } = await sharp(reply.bytes).metadata();
    t.is(format, expectedFormat);
    t.is(width, expectedWidth);
  }
});

test.serial('a locally signed URL that is changed, or signed with another secret, is refused', async (t) => {
  const s = await setup();
  const { url } = await s.signing.images.signedUrl(s.id, { format: 'webp', w: 100 });
  t.is((await anonymousRequest(url)).status, 200);
  const signature = new URL(url).searchParams.get('signature') ?? '';
  const tampered = [
    url.replace('width=100', 'width=101'),
    url.replace('.webp?', '.png?'),
    url.replace(`signature=${signature}`, `signature=${signature.startsWith('A') ? 'B' : 'A'}${signature.slice(1)}`),
    `${url}&blur=2`,
  ];
  for (const changed of tampered) {
    const reply = await anonymousRequest(changed);
    t.is(reply.status, 403, changed);
    t.is(errorCode(reply), 'signature_invalid', changed);
  }
  const otherTenant = await anonymousRequest(url.replace(`tenant=${DEFAULT_TENANT}`, 'tenant=someone-else'));
  t.true([401, 403].includes(otherTenant.status), `another tenant named: ${otherTenant.status}`);
  const forged = new ProgImage({
    baseUrl: s.baseUrl,
    signing: { tenant: DEFAULT_TENANT, secret: 'a-secret-the-server-never-made-0000000000' },
  });
  const reply = await anonymousRequest((await forged.images.signedUrl(s.id, { format: 'webp', w: 100 })).url);
  t.is(reply.status, 403);
  t.is(errorCode(reply), 'signature_invalid');
});

test.serial('a locally signed URL works until it expires, then is refused', async (t) => {
  const s = await setup();
  const before = Date.now();
  const signed = await s.signing.images.signedUrl(s.id, { format: 'png', w: 64 }, { expiresIn: 3 });
  t.true(Math.abs(signed.expiresAt.getTime() - (before + 3000)) < 1000, `expires at ${signed.expiresAt.toISOString()}`);
  t.is(Number(expiresOf(signed.url)), Math.floor(signed.expiresAt.getTime() / 1000));
  t.is((await anonymousRequest(signed.url)).status, 200);
  const refused = await waitUntil(
    async () => {
      const reply = await anonymousRequest(signed.url);
      return reply.status === 200 ? false : reply;
    },
    { timeoutMs: 10_000, intervalMs: 200, description: 'the URL to expire' },
  );
  t.is(refused.status, 403);
  t.is(errorCode(refused), 'signature_expired');
  t.true(Date.now() >= Number(expiresOf(signed.url)) * 1000, 'not before its expiry');
});

test.serial('progimage sign signs locally with PROGIMAGE_SIGNING_SECRET and PROGIMAGE_TENANT, without an API key', async (t) => {
  const s = await setup();
  const sign = (env: NodeJS.ProcessEnv) =>
    runCommand(
      process.execPath,
      ['--import', 'tsx', CLI, 'sign', s.id, 'webp', 'w=200', 'text=Hi there', '--expires-in', '600', '--json'],
      {
        cwd: REPO_ROOT,
        env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
      },
    );
  const result = await sign({ PROGIMAGE_URL: s.baseUrl, PROGIMAGE_TENANT: DEFAULT_TENANT, PROGIMAGE_SIGNING_SECRET: s.secret });
  t.is(result.code, 0, result.stderr);
  const { url } = JSON.parse(result.stdout.toString('utf8')) as { url: string };
  const reply = await anonymousRequest(url);
  t.is(reply.status, 200, `${url}: ${reply.bytes.toString('utf8', 0, 300)}`);
  t.is((await sharp(reply.bytes).metadata()).width, 200);

  const offline = await sign({ PROGIMAGE_URL: NOWHERE, PROGIMAGE_TENANT: DEFAULT_TENANT, PROGIMAGE_SIGNING_SECRET: s.secret });
  t.is(offline.code, 0, `no call to the server: ${offline.stderr}`);
  const noTenant = await sign({ PROGIMAGE_URL: s.baseUrl, PROGIMAGE_SIGNING_SECRET: s.secret });
  t.is(noTenant.code, 2);
  t.regex(noTenant.stderr, /PROGIMAGE_SIGNING_SECRET needs PROGIMAGE_TENANT/);
});

test('local signing makes no call, and refuses what the server would refuse to sign', async (t) => {
  const offline = new ProgImage({ baseUrl: NOWHERE, signing: { tenant: 'acme', secret: 'a'.repeat(43) } });
  const id = '1b09c5c8-2d0e-4bd2-9a5b-3c1f0f6c2a11';
  const signed = await offline.images.signedUrl(id, { format: 'jpg', w: 10 }, { expiresIn: 60 });
  t.regex(signed.url, new RegExp(`^${NOWHERE}/v1/images/${id}\\.jpeg\\?width=10&tenant=acme&expires=\\d+&signature=[A-Za-z0-9_-]{43}$`));
  for (const expiresIn of [0, 1.5, 365 * 24 * 3600 + 1]) {
    await t.throwsAsync(offline.images.signedUrl(id, { format: 'png' }, { expiresIn }), {
      instanceOf: RangeError,
      message: /^expiresIn: /,
    });
  }
  await t.throwsAsync(offline.images.signedUrl('not-an-image-id', { format: 'png' }), {
    instanceOf: TypeError,
    message: /cannot be signed/,
  });
  await t.throwsAsync(offline.images.signedUrl(id.toUpperCase(), { format: 'png' }), {
    instanceOf: TypeError,
    message: /cannot be signed/,
  });
});
