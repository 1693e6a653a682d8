import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import test, { type ExecutionContext } from 'ava';
import sharp from 'sharp';
import { createCatalogStore } from '../../lib/adapters/index.ts';
import { signUrl } from '../../lib/auth/signatures.ts';
import { currentSecret, openTenantCollections } from '../../lib/auth/tenants.ts';
import { loadConfig } from '../../lib/config/index.ts';
import {
  anonymousRequest,
  bearer,
  errorSchema,
  json,
  madeBlobsStored,
  upload,
  uploadAccepted,
  waitForFinalStatus,
  type Reply,
} from '../support/api.ts';
import { EICAR, pngDeclaring, readFixture } from '../support/fixtures.ts';
import { rawExchange, slowly } from '../support/raw-http.ts';
import { admin, printedKey, startSecured, type SecuredProgImage } from '../support/secured.ts';
import { zipOf } from '../support/zip.ts';

/**
 * Hostile requests, each answered with the right status and a JSON error
 * naming the problem, storing and changing nothing (blobs and catalog counted
 * before and after), after which the very next good request is served.
 */

const MAX_UPLOAD_BYTES = 2 * 1024 * 1024;
const HEADERS_TIMEOUT_MS = 2000;
const REQUEST_TIMEOUT_MS = 4000;
/** Tenants of this run only: their blob prefixes hold nothing of other runs or other tests on the shared bucket. */
const RUN = randomUUID().slice(0, 8);
const ATTACKER = `attacker-${RUN}`;
const VICTIM = `victim-${RUN}`;

interface Setup {
  readonly secured: SecuredProgImage;
  readonly baseUrl: string;
  readonly port: number;
  /** The attacker's own API key: a valid tenant trying what it should not. */
  readonly attackerKey: string;
  readonly victimKey: string;
  /** A ready image of the victim tenant. */
  readonly victimImage: string;
  /** A loopback port that must never see a connection. */
  readonly tripwire: { readonly port: number; connections: number; readonly server: Server };
}

let setup: Promise<Setup> | undefined;
const ready = () =>
  (setup ??= (async () => {
    const secured = await startSecured('attacks', {
      PROGIMAGE_MAX_UPLOAD_BYTES: String(MAX_UPLOAD_BYTES),
      PROGIMAGE_HEADERS_TIMEOUT_MS: String(HEADERS_TIMEOUT_MS),
      PROGIMAGE_REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
    });
    const { baseUrl } = secured.running;
    const attackerKey = printedKey(await admin(secured.env, 'tenant', 'create', ATTACKER));
    const victimKey = printedKey(await admin(secured.env, 'tenant', 'create', VICTIM));
    const victimImage = await uploadAccepted(baseUrl, await readFixture('320x240.jpg'), 'application/octet-stream', victimKey);
    if ((await waitForFinalStatus(baseUrl, victimImage, victimKey)).status !== 'ready') throw new Error('the victim image is not ready');
    const tripwire = { port: 0, connections: 0, server: createServer() };
    tripwire.server.on('connection', (socket) => {
      tripwire.connections += 1;
      socket.destroy();
    });
    await new Promise<void>((resolve) => tripwire.server.listen(0, '127.0.0.1', resolve));
    return {
      secured,
      baseUrl,
      port: Number(new URL(baseUrl).port),
      attackerKey,
      victimKey,
      victimImage,
      tripwire: { ...tripwire, port: (tripwire.server.address() as AddressInfo).port },
    };
  })());

test.after.always(async () => {
  if (setup === undefined) return;
  const { secured, tripwire } = await setup;
  tripwire.server.close();
  await secured.stop();
});

/** What is stored: blobs under each tenant's prefixes and images in each tenant's catalog. */
async function snapshot({ secured, attackerKey, victimKey, baseUrl }: Setup): Promise<Record<string, string[]>> {
  await madeBlobsStored(baseUrl);
  const stored: Record<string, string[]> = {};
  for (const tenant of [VICTIM, ATTACKER]) {
    for (const prefix of [`originals/${tenant}/`, `derived/${tenant}/`, `quarantine/${tenant}/`]) {
      const keys: string[] = [];
      for await (const blob of secured.running.blobs.list(prefix)) keys.push(`${blob.key} ${blob.sha256}`);
      stored[prefix] = keys.sort();
    }
  }
  for (const [tenant, apiKey] of [
    [VICTIM, victimKey],
    [ATTACKER, attackerKey],
  ] as const) {
    const list = json(await anonymousRequest(`${baseUrl}/v1/images?limit=100`, { headers: bearer(apiKey) })) as {
      images: { id: string; status: string }[];
    };
    stored[`catalog:${tenant}`] = list.images.map((image) => `${image.id} ${image.status}`).sort();
  }
  return stored;
}

const attacker = (
  s: Setup,
  init: { method?: string; body?: NonNullable<RequestInit['body']>; headers?: Record<string, string> } = {},
): RequestInit => ({
  ...init,
  headers: { ...bearer(s.attackerKey), ...init.headers },
});
const asVictim = (s: Setup, path: string) => anonymousRequest(`${s.baseUrl}${path}`, { headers: bearer(s.victimKey) });
const uploadAs = (s: Setup, body: Buffer, contentType = 'application/octet-stream') =>
  upload(s.baseUrl, body, contentType, bearer(s.attackerKey));
const multipartAs = (s: Setup, body: Buffer, filename: string, type: string) => {
  const form = new FormData();
  form.append('file', new Blob([body], { type }), filename);
  return anonymousRequest(`${s.baseUrl}/v1/images`, attacker(s, { method: 'POST', body: form }));
};
const svgUpload = (s: Setup, svg: string) => uploadAs(s, Buffer.from(svg), 'image/svg+xml');
const urlUpload = (s: Setup, url: string) =>
  anonymousRequest(
    `${s.baseUrl}/v1/images`,
    attacker(s, { method: 'POST', body: JSON.stringify({ url }), headers: { 'content-type': 'application/json' } }),
  );

const svg = (inner: string, prolog = '') =>
  `${prolog}<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="64" height="64">${inner}</svg>`;
const BILLION_LAUGHS = `<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "lol"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;"><!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;">]>`;

async function victimSecret(s: Setup): Promise<string> {
  const store = await createCatalogStore(loadConfig(s.secured.env));
  try {
    const tenant = (await (await openTenantCollections(store)).tenants.get(VICTIM))?.document;
    if (tenant === undefined) throw new Error('no victim tenant');
    return currentSecret(tenant);
  } finally {
    await store.close();
  }
}

function* chunkedBody(path: string, key: string, totalBytes: number): Generator<Buffer> {
  yield Buffer.from(
    `POST ${path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${key}\r\nContent-Type: image/jpeg\r\nTransfer-Encoding: chunked\r\n\r\n`,
  );
  const chunk = Buffer.alloc(64 * 1024, 0xab);
  for (let sent = 0; sent < totalBytes; sent += chunk.length)
    yield Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n')]);
  yield Buffer.from('0\r\n\r\n');
}

/** A GET of `pathAndQuery` exactly as written: fetch would resolve "." and ".." segments before sending. */
const rawGet = (s: Setup, pathAndQuery: string) =>
  rawExchange(s.port, [Buffer.from(`GET ${pathAndQuery} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`)], 10_000);
const signedByVictim = async (s: Setup, path: string) => signUrl(path, VICTIM, await victimSecret(s), new Date(Date.now() + 60_000));
const withImage = (template: string, s: Setup) => template.replaceAll('{id}', s.victimImage);

/** Paths that are not image bytes, or reach them only once decoded or resolved: none may be signed, nor served through a signature. */
const UNSIGNABLE_PATHS: readonly string[] = [
  '/v1/images/../openapi.json',
  '/v1/images/%2e%2e/openapi.json',
  '/v1/images/.%2E/openapi.json',
  '/v1/images/{id}/../../openapi.json',
  '/v1/images/{id}.png/../../openapi.json',
  '/v1/images/..%2fopenapi.json',
  '/v1/images/..%5copenapi.json',
  '/v1/images/./{id}.png',
  '/v1/images//{id}.png',
  '/v1/images/{id}.png/.',
  '/v1/images/{id}%2epng',
  '/v1/images/{id}%2fvariants%2fthumbnail.webp',
  '/V1/IMAGES/{id}.png',
  '/v1/openapi.json',
  '/v1/images',
  '/v1/images/{id}',
  '/v1/images/{id}/stats',
  '/v1/stats/top',
  'http://localhost/v1/images/{id}.png',
];

/** Requests that differ from the path signed for them only by what a router or URL parser would decode or resolve. */
const ALIASES_OF_SIGNED_PATH: readonly string[] = [
  '/v1/images/./{id}.png',
  '/v1/images//{id}.png',
  '/v1/images/../images/{id}.png',
  '/v1/images/{id}%2epng',
  '/V1/IMAGES/{id}.png',
];

interface Attack {
  readonly name: string;
  readonly send: (s: Setup) => Promise<Reply>;
  readonly status: number;
  readonly code: string;
}

const attacks: readonly Attack[] = [
  // Pixel bombs and broken files
  {
    name: 'a JPEG pixel bomb (20000x14000 declared)',
    send: async (s) => uploadAs(s, await readFixture('giant-image.jpg')),
    status: 422,
    code: 'too_many_pixels',
  },
  {
    name: 'a PNG declaring 65536x65536',
    send: async (s) => uploadAs(s, await readFixture('65536-uint32-limit.png')),
    status: 422,
    code: 'too_many_pixels',
  },
  {
    name: 'an animation of 600 frames',
    send: async (s) => {
      // Each frame different (a lit pixel moving), or the encoder merges them.
      const frames = await Promise.all(
        Array.from({ length: 600 }, (_, index) => {
          const pixels = Buffer.alloc(25 * 25 * 3).fill(255, index * 3, index * 3 + 3);
          return sharp(pixels, { raw: { width: 25, height: 25, channels: 3 } })
            .png()
            .toBuffer();
        }),
      );
      return uploadAs(
        s,
        await sharp(frames, { join: { animated: true } })
          .gif()
          .toBuffer(),
      );
    },
    status: 422,
    code: 'too_many_frames',
  },
  { name: 'a truncated JPEG', send: async (s) => uploadAs(s, await readFixture('truncated.jpg')), status: 422, code: 'truncated_image' },
  { name: 'a truncated PNG', send: async (s) => uploadAs(s, await readFixture('truncated.png')), status: 422, code: 'truncated_image' },
  {
    name: 'a JPEG with a corrupt header',
    send: async (s) => uploadAs(s, await readFixture('corrupt-header.jpg')),
    status: 422,
    code: 'unreadable_image',
  },
  {
    name: 'a truncated JPEG sent to POST /v1/transform',
    send: async (s) =>
      anonymousRequest(
        `${s.baseUrl}/v1/transform?w=10`,
        attacker(s, { method: 'POST', body: await readFixture('truncated.jpg'), headers: { 'content-type': 'image/jpeg' } }),
      ),
    status: 422,
    code: 'truncated_image',
  },
  // Polyglots and lies about the type
  {
    name: 'a JPEG with a ZIP appended',
    send: async (s) => uploadAs(s, Buffer.concat([await readFixture('320x240.jpg'), zipOf('eicar.com', EICAR)])),
    status: 415,
    code: 'trailing_data',
  },
  {
    name: 'a JPEG with HTML appended',
    send: async (s) =>
      uploadAs(s, Buffer.concat([await readFixture('320x240.jpg'), Buffer.from('<html><script>alert(1)</script></html>')])),
    status: 415,
    code: 'trailing_data',
  },
  {
    name: 'a PNG with HTML appended',
    send: async (s) => uploadAs(s, Buffer.concat([await readFixture('with-alpha.png'), Buffer.from('<script>alert(1)</script>')])),
    status: 415,
    code: 'trailing_data',
  },
  {
    name: 'HTML named .png and declared image/png',
    send: (s) => multipartAs(s, Buffer.from('<!doctype html><html><body><script>alert(1)</script></body></html>'), 'cat.png', 'image/png'),
    status: 415,
    code: 'unsupported_media_type',
  },
  {
    name: 'a PNG declared as image/jpeg',
    send: async (s) => uploadAs(s, await readFixture('with-alpha.png'), 'image/jpeg'),
    status: 415,
    code: 'type_mismatch',
  },
  {
    name: 'a JPEG named .gif',
    send: async (s) => multipartAs(s, await readFixture('320x240.jpg'), 'photo.gif', 'application/octet-stream'),
    status: 415,
    code: 'type_mismatch',
  },
  { name: 'EICAR inside a zip', send: (s) => uploadAs(s, zipOf('eicar.com', EICAR)), status: 415, code: 'unsupported_media_type' },
  {
    name: 'a zip bomb (100 MB of zeros deflated)',
    send: (s) => uploadAs(s, zipOf('zeros.bin', Buffer.alloc(100 * 1024 * 1024))),
    status: 415,
    code: 'unsupported_media_type',
  },
  // SVG that reaches out, runs code, or explodes
  {
    name: 'SVG with a script',
    send: (s) => svgUpload(s, svg('<script>alert(document.cookie)</script><rect width="64" height="64"/>')),
    status: 422,
    code: 'unsafe_svg',
  },
  {
    name: 'SVG with an onload handler',
    send: (s) => svgUpload(s, svg('<rect width="64" height="64"/>').replace('<svg ', '<svg onload="alert(1)" ')),
    status: 422,
    code: 'unsafe_svg',
  },
  {
    name: 'SVG with a javascript: href',
    send: (s) => svgUpload(s, svg('<a href="javascript:alert(1)"><rect width="64" height="64"/></a>')),
    status: 422,
    code: 'unsafe_svg',
  },
  {
    name: 'SVG with an external image href (the tripwire)',
    send: (s) => svgUpload(s, svg(`<image xlink:href="http://127.0.0.1:${s.tripwire.port}/x.png" width="64" height="64"/>`)),
    status: 422,
    code: 'unsafe_svg',
  },
  {
    name: 'SVG with a file: image href',
    send: (s) => svgUpload(s, svg('<image href="file:///etc/passwd" width="64" height="64"/>')),
    status: 422,
    code: 'unsafe_svg',
  },
  {
    name: 'SVG with an XXE entity',
    send: (s) => svgUpload(s, svg('<text>&xxe;</text>', '<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>')),
    status: 422,
    code: 'unsafe_svg',
  },
  { name: 'SVG billion laughs', send: (s) => svgUpload(s, svg('<text>&e;</text>', BILLION_LAUGHS)), status: 422, code: 'unsafe_svg' },
  {
    name: 'SVG declaring 100000x100000',
    send: (s) => svgUpload(s, svg('').replace('width="64" height="64"', 'width="100000" height="100000"')),
    status: 422,
    code: 'too_many_pixels',
  },
  ...[16_000, 30_000].map((side): Attack => ({
    name: `SVG inlining a ${side}x${side} PNG`,
    send: async (s) =>
      svgUpload(
        s,
        svg(`<image width="64" height="64" href="data:image/png;base64,${(await pngDeclaring(side, side)).toString('base64')}"/>`),
      ),
    status: 422,
    code: 'too_many_pixels',
  })),
  // Paths and ids
  {
    name: '../ in an image id',
    send: (s) => anonymousRequest(`${s.baseUrl}/v1/images/..%2F..%2Fetc%2Fpasswd`, attacker(s)),
    status: 404,
    code: 'not_found',
  },
  {
    name: 'an absolute path as an image id',
    send: (s) => anonymousRequest(`${s.baseUrl}/v1/images/%2Fetc%2Fpasswd.png`, attacker(s)),
    status: 404,
    code: 'not_found',
  },
  {
    name: 'a NUL byte in an image id',
    send: (s) => anonymousRequest(`${s.baseUrl}/v1/images/${s.victimImage}%00.png`, attacker(s)),
    status: 404,
    code: 'not_found',
  },
  {
    name: '../ in a variant name',
    send: (s) => asVictim(s, `/v1/images/${s.victimImage}/variants/..%2F..%2F..%2Foriginals%2Fdefault`),
    status: 404,
    code: 'no_such_variant',
  },
  {
    name: '../ in a batch id',
    send: (s) => anonymousRequest(`${s.baseUrl}/v1/batches/..%2F..%2Fimages`, attacker(s)),
    status: 404,
    code: 'not_found',
  },
  // HTTP abuse
  {
    name: 'headers of 64 KB',
    send: (s) => anonymousRequest(`${s.baseUrl}/v1/images`, attacker(s, { headers: { 'x-padding': 'a'.repeat(64 * 1024) } })),
    status: 431,
    code: 'headers_too_large',
  },
  {
    name: 'a chunked body over the size limit, without Content-Length',
    send: (s) => rawExchange(s.port, chunkedBody('/v1/images', s.attackerKey, 3 * MAX_UPLOAD_BYTES), 30_000),
    status: 413,
    code: 'payload_too_large',
  },
  {
    name: 'a client sending its request line one byte a second',
    send: (s) =>
      rawExchange(
        s.port,
        slowly(Buffer.from(`GET /v1/images HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${s.attackerKey}\r\n\r\n`), 1000),
        HEADERS_TIMEOUT_MS * 4,
      ),
    status: 408,
    code: 'request_timeout',
  },
  {
    name: 'malformed multipart',
    send: (s) =>
      anonymousRequest(
        `${s.baseUrl}/v1/images`,
        attacker(s, {
          method: 'POST',
          body: '--x\r\nContent-Disposition: form-data; name="file"; filename="a.jpg"\r\n\r\nnot closed',
          headers: { 'content-type': 'multipart/form-data; boundary=x' },
        }),
      ),
    status: 400,
    code: 'malformed_multipart',
  },
  {
    name: 'JSON that does not parse',
    send: (s) =>
      anonymousRequest(
        `${s.baseUrl}/v1/images`,
        attacker(s, { method: 'POST', body: '{"url": ', headers: { 'content-type': 'application/json' } }),
      ),
    status: 400,
    code: 'invalid_json',
  },
  // Who is asking
  {
    name: 'a wrong API key',
    send: (s) =>
      anonymousRequest(`${s.baseUrl}/v1/images/${s.victimImage}`, { headers: bearer('pik_wrongwrongwrongwrongwrongwrongwrong') }),
    status: 401,
    code: 'unauthenticated',
  },
  {
    name: "another tenant's image id",
    send: (s) => anonymousRequest(`${s.baseUrl}/v1/images/${s.victimImage}.png`, attacker(s)),
    status: 404,
    code: 'not_found',
  },
  {
    name: "deleting another tenant's image",
    send: (s) => anonymousRequest(`${s.baseUrl}/v1/images/${s.victimImage}`, attacker(s, { method: 'DELETE' })),
    status: 404,
    code: 'not_found',
  },
  {
    name: 'an expired signature',
    send: async (s) =>
      anonymousRequest(
        `${s.baseUrl}${signUrl(`/v1/images/${s.victimImage}.png`, VICTIM, await victimSecret(s), new Date(Date.now() - 60_000))}`,
      ),
    status: 403,
    code: 'signature_expired',
  },
  {
    name: 'a forged signature',
    send: async (s) =>
      anonymousRequest(
        `${s.baseUrl}${signUrl(`/v1/images/${s.victimImage}.png`, VICTIM, 'a-secret-the-server-never-made-0000000000', new Date(Date.now() + 60_000))}`,
      ),
    status: 403,
    code: 'signature_invalid',
  },
  {
    name: "the attacker's own signed URL, its tenant changed to the victim's",
    send: async (s) => {
      const signed = json(
        await anonymousRequest(
          `${s.baseUrl}/v1/signed-urls`,
          attacker(s, {
            method: 'POST',
            body: JSON.stringify({ path: `/v1/images/${s.victimImage}.png` }),
            headers: { 'content-type': 'application/json' },
          }),
        ),
      ) as { url: string };
      return anonymousRequest(`${s.baseUrl}${signed.url.replace(`tenant=${ATTACKER}`, `tenant=${VICTIM}`)}`);
    },
    status: 403,
    code: 'signature_invalid',
  },
  // Signing only the canonical paths of image bytes, and serving nothing else through a signature
  ...UNSIGNABLE_PATHS.map((path): Attack => ({
    name: `signing ${path}`,
    send: (s) =>
      anonymousRequest(
        `${s.baseUrl}/v1/signed-urls`,
        attacker(s, {
          method: 'POST',
          body: JSON.stringify({ path: withImage(path, s) }),
          headers: { 'content-type': 'application/json' },
        }),
      ),
    status: 400,
    code: 'invalid_body',
  })),
  ...UNSIGNABLE_PATHS.map((path): Attack => ({
    name: `a GET of ${path} with a signature made over it`,
    send: async (s) => rawGet(s, await signedByVictim(s, withImage(path, s))),
    status: 403,
    code: 'signature_invalid',
  })),
  ...ALIASES_OF_SIGNED_PATH.map((alias): Attack => ({
    name: `a GET of ${alias} with the signature of /v1/images/{id}.png`,
    send: async (s) => {
      const signed = await signedByVictim(s, withImage('/v1/images/{id}.png', s));
      return rawGet(s, `${withImage(alias, s)}${signed.slice(signed.indexOf('?'))}`);
    },
    status: 403,
    code: 'signature_invalid',
  })),
  // Reaching where it should not (the fetcher)
  ...['127.0.0.1', '[::1]', '[::ffff:127.0.0.1]', '0.0.0.0', '2130706433', 'localhost'].map((host): Attack => ({
    name: `an upload from http://${host}:<tripwire>/`,
    send: (s) => urlUpload(s, `http://${host}:${s.tripwire.port}/x.jpg`),
    status: 400,
    code: 'address_refused',
  })),
  {
    name: 'an upload from the cloud metadata address',
    send: (s) => urlUpload(s, 'http://169.254.169.254/latest/meta-data/'),
    status: 400,
    code: 'address_refused',
  },
  { name: 'an upload from a private address', send: (s) => urlUpload(s, 'http://10.0.0.1/x.jpg'), status: 400, code: 'address_refused' },
  { name: 'an upload from a file: URL', send: (s) => urlUpload(s, 'file:///etc/passwd'), status: 400, code: 'url_scheme_refused' },
  // Transformations that would be too much
  {
    name: 'a width of 100000',
    send: (s) => asVictim(s, `/v1/images/${s.victimImage}.png?w=100000`),
    status: 400,
    code: 'invalid_transform',
  },
  {
    name: 'an output over the bounds, with a key',
    send: (s) => asVictim(s, `/v1/images/${s.victimImage}.png?w=16000&h=16000&fit=fill&enlarge=1`),
    status: 400,
    code: 'output_too_large',
  },
  {
    name: 'an AVIF of 48 megapixels at the highest effort',
    send: (s) => asVictim(s, `/v1/images/${s.victimImage}.avif?w=8000&enlarge=1&effort=9`),
    status: 422,
    code: 'too_costly',
  },
  {
    name: 'a blur of 100 on 75 megapixels',
    send: (s) => asVictim(s, `/v1/images/${s.victimImage}.png?w=10000&enlarge=1&blur=100`),
    status: 422,
    code: 'too_costly',
  },
];

async function assertGoodRequestServed(t: ExecutionContext, s: Setup, after: string): Promise<void> {
  const reply = await asVictim(s, `/v1/images/${s.victimImage}.webp`);
  t.is(reply.status, 200, `the good request after ${after}`);
}

test('there are at least 70 attacks', (t) => {
  t.true(attacks.length >= 70, String(attacks.length));
});

for (const attack of attacks) {
  test.serial(`${attack.name}: ${attack.status} ${attack.code}, nothing stored or changed, and the next request is served`, async (t) => {
    const s = await ready();
    const before = await snapshot(s);
    const reply = await attack.send(s);
    t.is(reply.status, attack.status, reply.bytes.toString('utf8', 0, 300));
    const body = errorSchema.safeParse(JSON.parse(reply.bytes.toString('utf8') || 'null'));
    t.true(body.success, `a JSON error body: ${reply.bytes.toString('utf8', 0, 300)}`);
    if (body.success) t.is(body.data.error.code, attack.code, body.data.error.message);
    t.deepEqual(await snapshot(s), before, 'nothing stored or changed');
    t.is(s.tripwire.connections, 0, 'no connection reached the tripwire');
    await assertGoodRequestServed(t, s, attack.name);
  });
}

test.serial('after every attack, a good upload still goes all the way to ready', async (t) => {
  const { secured, victimKey } = await ready();
  const { baseUrl } = secured.running;
  const id = await uploadAccepted(baseUrl, await readFixture('flowers.jpeg'), 'application/octet-stream', victimKey);
  t.is((await waitForFinalStatus(baseUrl, id, victimKey)).status, 'ready');
});
