import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import test, { type ExecutionContext } from 'ava';
import { tenantViewSchema } from '../../admin/views.ts';
import { waitUntil } from '../../lib/wait.ts';
import {
  anonymousRequest,
  bearer,
  errorSchema,
  json,
  request,
  signedUrl,
  TEST_API_KEY,
  uploadAccepted,
  waitForFinalStatus,
  type Reply,
} from '../support/api.ts';
import { readFixture } from '../support/fixtures.ts';
import { startProgImage, type RunningProgImage } from '../support/progimage.ts';
import { runCommand, type CommandResult } from '../support/run-command.ts';
import { printedKey } from '../support/secured.ts';

/*
 * CORS as browsers see it, header by header (test/browser/cors.test.ts runs
 * a browser): image bytes readable by every page, the JSON API by the
 * configured origins and each tenant's own, preflights answered without a
 * key, and the hot path answering exactly as the full path does.
 */

const APP = 'https://app.example';
const ACME = 'https://acme.example';
const ELSEWHERE = 'https://elsewhere.example';
const SHOP = 'https://shop.example';
const ADMIN_TOKEN = `test-admin-${randomUUID()}`;
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

interface Deployment {
  readonly running: RunningProgImage;
  readonly configFile: string;
  /** A ready image of the default tenant. */
  readonly id: string;
  /** The key of tenant acme, whose corsOrigins is [ACME]. */
  readonly acmeKey: string;
}

/** `npm run admin -- --url … args` as an operator runs it. */
const adminCommand = (baseUrl: string, ...args: string[]): Promise<CommandResult> =>
  runCommand(process.execPath, ['--import', 'tsx', 'admin/cli.ts', '--url', baseUrl, ...args], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH, PROGIMAGE_LOG_LEVEL: 'warn', PROGIMAGE_ADMIN_TOKEN: ADMIN_TOKEN },
  });

let deployment: Deployment;
let dataDir: string;

test.before(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'progimage-cors-'));
  const configFile = join(dataDir, 'live.json');
  await writeFile(configFile, JSON.stringify({ PROGIMAGE_CORS_API_ORIGINS: APP }));
  // Hot URLs stay in the response cache for the whole test: a repeated GET is answered before the framework.
  const running = await startProgImage({
    PROGIMAGE_DATA_DIR: join(dataDir, 'data'),
    PROGIMAGE_CONFIG_FILE: configFile,
    PROGIMAGE_ADMIN_TOKEN: ADMIN_TOKEN,
    PROGIMAGE_RESPONSE_CACHE_MS: '60000',
  });
  const id = await uploadAccepted(running.baseUrl, await readFixture('Flag_of_the_Netherlands-16bit.png'));
  const image = await waitForFinalStatus(running.baseUrl, id);
  if (image.status !== 'ready') throw new Error(`the image ended ${image.status}`);
  const created = await adminCommand(running.baseUrl, 'tenant', 'create', 'acme', '--cors-origins', ACME);
  if (created.code !== 0) throw new Error(`tenant create failed: ${created.stderr}`);
  deployment = { running, configFile, id, acmeKey: printedKey(created.stdout.toString('utf8')) };
});

test.after.always(async () => {
  await deployment.running.stop();
  await rm(dataDir, { recursive: true, force: true });
});

const CORS_HEADERS = ['access-control-allow-origin', 'access-control-expose-headers', 'access-control-allow-credentials', 'vary'] as const;
const corsOf = (reply: Reply) => Object.fromEntries(CORS_HEADERS.map((name) => [name, reply.headers.get(name)]));
const varies = (reply: Reply): string[] => (reply.headers.get('vary') ?? '').split(/\s*,\s*/).filter((name) => name !== '');
const exposed = (reply: Reply): string[] => (reply.headers.get('access-control-expose-headers') ?? '').split(/\s*,\s*/);
const errorCode = (reply: Reply): string => errorSchema.parse(json(reply)).error.code;

/** A preflight as a browser sends it: no key, the method and headers the request will have. */
const preflight = (url: string, origin: string, method: string, headers: string): Promise<Reply> =>
  anonymousRequest(url, {
    method: 'OPTIONS',
    headers: { Origin: origin, 'Access-Control-Request-Method': method, 'Access-Control-Request-Headers': headers },
  });

/** Checks a preflight the browser will accept: 204, the origin, the method and the headers allowed, kept for a while. */
function checkPreflightAllowed(t: ExecutionContext, reply: Reply, allowedOrigin: string, method: string, label: string): void {
  t.is(reply.status, 204, label);
  t.is(reply.bytes.length, 0, label);
  t.is(reply.headers.get('access-control-allow-origin'), allowedOrigin, label);
  t.true(
    reply.headers.get('access-control-allow-methods')?.split(', ').includes(method),
    `${label}: ${reply.headers.get('access-control-allow-methods') ?? ''}`,
  );
  const allowedHeaders = reply.headers.get('access-control-allow-headers')?.split(', ') ?? [];
  for (const name of ['Authorization', 'Range', 'If-None-Match']) t.true(allowedHeaders.includes(name), `${label}: ${name}`);
  t.is(reply.headers.get('access-control-max-age'), '7200', label);
  t.is(reply.headers.get('access-control-allow-credentials'), null, label);
}

test.serial(
  'image bytes are readable by any page (*, no credentials, the headers a page needs exposed), from the full path and the response cache alike',
  async (t) => {
    const { running, id } = deployment;
    const withKey = (path: string) => ({ url: `${running.baseUrl}${path}`, key: bearer(TEST_API_KEY) });
    const urls = [
      withKey(`/v1/images/${id}.webp?w=40`),
      withKey(`/v1/images/${id}/variants/thumbnail.webp`),
      { url: await signedUrl(running.baseUrl, `/v1/images/${id}.png?w=30`), key: {} },
    ];
    for (const { url, key } of urls) {
      const ask = (method: string, headers: Record<string, string>) => anonymousRequest(url, { method, headers: { ...key, ...headers } });
      const fullPath = await ask('GET', { Origin: ELSEWHERE });
      const answers = new Map<string, Reply>([
        ['GET, made or read by the full path', fullPath],
        ['GET again, from the response cache', await ask('GET', { Origin: ELSEWHERE })],
        ['HEAD', await ask('HEAD', { Origin: ELSEWHERE })],
        ['Range', await ask('GET', { Origin: ELSEWHERE, Range: 'bytes=0-9' })],
        ['GET without Origin (a CDN filling its cache)', await ask('GET', {})],
      ]);
      for (const [label, reply] of answers) {
        t.true([200, 206].includes(reply.status), `${url} ${label}: ${reply.status}`);
        t.deepEqual(corsOf(reply), corsOf(fullPath), `${url} ${label}: the same CORS headers`);
        t.is(reply.headers.get('access-control-allow-origin'), '*', `${url} ${label}`);
        t.is(reply.headers.get('access-control-allow-credentials'), null, `${url} ${label}`);
        t.false(varies(reply).includes('Origin'), `${url} ${label}: one answer for every page`);
        for (const name of ['Content-Length', 'Content-Range', 'Accept-Ranges', 'ETag', 'Last-Modified', 'Content-Disposition']) {
          t.true(exposed(reply).includes(name), `${url} ${label}: ${name} exposed`);
        }
      }
      t.is(answers.get('Range')?.status, 206, url);
    }
  },
);

test.serial('a preflight of image bytes needs no key: 204 allowing GET and HEAD with Authorization and Range, for any page', async (t) => {
  const { running, id } = deployment;
  const signed = await signedUrl(running.baseUrl, `/v1/images/${id}.png?w=30`);
  for (const url of [
    signed,
    `${running.baseUrl}/v1/images/${id}.webp?w=40`,
    `${running.baseUrl}/v1/images/${id}/variants/thumbnail.webp`,
  ]) {
    const reply = await preflight(url, ELSEWHERE, 'GET', 'authorization,range');
    checkPreflightAllowed(t, reply, '*', 'GET', url);
    t.is(reply.headers.get('access-control-allow-methods'), 'GET, HEAD', url);
  }
});

test.serial(
  'the JSON API answers the configured origins only, reflecting the origin (never *) with Vary: Origin on every answer',
  async (t) => {
    const { running, id } = deployment;
    const metadata = `${running.baseUrl}/v1/images/${id}`;

    const allowed = await request(metadata, { headers: { Origin: APP } });
    t.is(allowed.status, 200);
    t.is(allowed.headers.get('access-control-allow-origin'), APP);
    t.is(allowed.headers.get('access-control-allow-credentials'), null);
    t.true(varies(allowed).includes('Origin'));

    const refused = await request(metadata, { headers: { Origin: ELSEWHERE } });
    t.is(refused.status, 200, 'the server answers; the browser keeps the answer from the page');
    t.is(refused.headers.get('access-control-allow-origin'), null);
    t.true(varies(refused).includes('Origin'));

    const noOrigin = await request(metadata);
    t.is(noOrigin.headers.get('access-control-allow-origin'), null);
    t.true(varies(noOrigin).includes('Origin'), 'a cache must not give this answer to a page');

    const withoutKey = await anonymousRequest(metadata, { headers: { Origin: APP } });
    t.is(withoutKey.status, 401);
    t.is(errorCode(withoutKey), 'unauthenticated');
    t.is(withoutKey.headers.get('access-control-allow-origin'), APP, 'the page can read why it was refused');
    t.true(exposed(withoutKey).includes('WWW-Authenticate'));

    const signing = await request(`${running.baseUrl}/v1/signed-urls`, {
      method: 'POST',
      headers: { Origin: APP, 'content-type': 'application/json' },
      body: JSON.stringify({ path: `/v1/images/${id}.png` }),
    });
    t.is(signing.status, 201);
    t.is(signing.headers.get('access-control-allow-origin'), APP);
  },
);

test.serial(
  'a preflight of the API needs no key: 204 for a configured origin; another gets a JSON 403 without CORS headers, so the browser blocks',
  async (t) => {
    const { running } = deployment;
    const uploads = `${running.baseUrl}/v1/images`;

    const allowed = await preflight(uploads, APP, 'POST', 'authorization,content-type,idempotency-key');
    checkPreflightAllowed(t, allowed, APP, 'POST', 'configured origin');
    t.true(allowed.headers.get('access-control-allow-headers')?.split(', ').includes('Idempotency-Key'));
    t.true(varies(allowed).includes('Origin'));

    const refused = await preflight(uploads, ELSEWHERE, 'POST', 'authorization');
    t.is(refused.status, 403);
    t.regex(refused.headers.get('content-type') ?? '', /^application\/json/);
    t.is(errorCode(refused), 'origin_not_allowed');
    for (const name of ['access-control-allow-origin', 'access-control-allow-methods', 'access-control-allow-headers'])
      t.is(refused.headers.get(name), null, name);

    const notPreflight = await anonymousRequest(uploads, { method: 'OPTIONS', headers: { Origin: APP } });
    t.is(notPreflight.status, 401, 'an OPTIONS without Access-Control-Request-Method is a request like any other');
  },
);

test.serial("a tenant's corsOrigins open the API to its pages, for its own keys only", async (t) => {
  const { running, acmeKey } = deployment;
  const listing = `${running.baseUrl}/v1/images?limit=1`;

  checkPreflightAllowed(
    t,
    await preflight(listing, ACME, 'GET', 'authorization'),
    ACME,
    'GET',
    'the preflight: some tenant allows the origin',
  );

  const ownKey = await anonymousRequest(listing, { headers: { Origin: ACME, ...bearer(acmeKey) } });
  t.is(ownKey.status, 200);
  t.is(ownKey.headers.get('access-control-allow-origin'), ACME);

  const otherTenant = await request(listing, { headers: { Origin: ACME } });
  t.is(otherTenant.status, 200);
  t.is(otherTenant.headers.get('access-control-allow-origin'), null, "the default tenant's answers are not for acme's pages");
  t.true(varies(otherTenant).includes('Origin'));

  const acmeFromApp = await anonymousRequest(listing, { headers: { Origin: APP, ...bearer(acmeKey) } });
  t.is(acmeFromApp.headers.get('access-control-allow-origin'), APP, 'PROGIMAGE_CORS_API_ORIGINS applies to every tenant');
});

test.serial(
  "the admin command and API set a tenant's corsOrigins; an origin not written as browsers send it is refused, naming the flag or field",
  async (t) => {
    const { running } = deployment;
    const set = await adminCommand(running.baseUrl, 'tenant', 'set', 'acme', '--cors-origins', `${ACME}, https://www.acme.example:8443`);
    t.is(set.code, 0, set.stderr);
    t.deepEqual(tenantViewSchema.parse(JSON.parse(set.stdout.toString('utf8'))).corsOrigins, [ACME, 'https://www.acme.example:8443']);

    const bad = await adminCommand(running.baseUrl, 'tenant', 'set', 'acme', '--cors-origins', 'https://acme.example/');
    t.not(bad.code, 0);
    t.regex(bad.stderr, /--cors-origins: expected an origin as browsers send it/);

    const patched = await anonymousRequest(`${running.baseUrl}/v1/admin/tenants/acme`, {
      method: 'PATCH',
      headers: { ...bearer(ADMIN_TOKEN), 'content-type': 'application/json' },
      body: JSON.stringify({ corsOrigins: ['HTTPS://ACME.EXAMPLE'] }),
    });
    t.is(patched.status, 400);
    t.regex(errorSchema.parse(json(patched)).error.message, /^corsOrigins\.0: expected an origin/);

    const shown = await adminCommand(running.baseUrl, 'tenant', 'show', 'acme');
    t.deepEqual(
      tenantViewSchema.parse(JSON.parse(shown.stdout.toString('utf8'))).corsOrigins,
      [ACME, 'https://www.acme.example:8443'],
      'a refused change changes nothing',
    );
    const cleared = await adminCommand(running.baseUrl, 'tenant', 'set', 'acme', '--cors-origins', 'none');
    t.deepEqual(tenantViewSchema.parse(JSON.parse(cleared.stdout.toString('utf8'))).corsOrigins, []);
  },
);

test.serial(
  'the image origins are a live setting: listed origins are reflected with Vary: Origin on every answer, the cached ones too; off sends none',
  async (t) => {
    const { running, id, configFile } = deployment;
    const url = `${running.baseUrl}/v1/images/${id}.webp?w=40`;
    const fromShop = async (): Promise<Reply> => request(url, { headers: { Origin: SHOP } });
    await writeFile(configFile, JSON.stringify({ PROGIMAGE_CORS_API_ORIGINS: APP, PROGIMAGE_CORS_IMAGE_ORIGINS: SHOP }));
    await waitUntil(async () => (await fromShop()).headers.get('access-control-allow-origin') === SHOP, {
      timeoutMs: 10_000,
      description: 'the listed image origin',
    });

    for (const reply of [await fromShop(), await fromShop(), await request(url, { method: 'HEAD', headers: { Origin: SHOP } })]) {
      t.is(reply.headers.get('access-control-allow-origin'), SHOP);
      t.true(varies(reply).includes('Origin'));
    }
    const elsewhere = await request(url, { headers: { Origin: ELSEWHERE } });
    t.is(elsewhere.status, 200);
    t.is(elsewhere.headers.get('access-control-allow-origin'), null);
    t.true(varies(elsewhere).includes('Origin'));
    const refused = await preflight(url, ELSEWHERE, 'GET', 'range');
    t.is(refused.status, 403);
    t.is(errorCode(refused), 'origin_not_allowed');
    checkPreflightAllowed(t, await preflight(url, SHOP, 'GET', 'range'), SHOP, 'GET', 'the listed origin');

    await writeFile(configFile, JSON.stringify({ PROGIMAGE_CORS_API_ORIGINS: APP, PROGIMAGE_CORS_IMAGE_ORIGINS: 'off' }));
    await waitUntil(async () => (await fromShop()).headers.get('access-control-allow-origin') === null, {
      timeoutMs: 10_000,
      description: 'image origins off',
    });
    const off = await fromShop();
    t.deepEqual(corsOf(off), {
      'access-control-allow-origin': null,
      'access-control-expose-headers': null,
      'access-control-allow-credentials': null,
      vary: null,
    });
  },
);
