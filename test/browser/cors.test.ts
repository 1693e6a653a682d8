import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { chromium, type Browser, type Page } from 'playwright-core';
import sharp from 'sharp';
import { waitUntil } from '../../lib/wait.ts';
import { anonymousRequest, signedUrl, TEST_API_KEY, uploadAccepted, waitForFinalStatus } from '../support/api.ts';
import { readFixture } from '../support/fixtures.ts';
import { startProgImage, type RunningProgImage } from '../support/progimage.ts';

/*
 * CORS in a real browser: Debian's Chromium, headless, driven by
 * playwright-core (which downloads no browser of its own). Pages are served
 * from two loopback origins of their own while ProgImage runs on a third;
 * one of them is named in PROGIMAGE_CORS_API_ORIGINS.
 */

const CHROMIUM = '/usr/bin/chromium';
const FIXTURE = 'Flag_of_the_Netherlands-16bit.png';
/** The middle of the flag's red, white and blue stripes, as fractions of its width and height. */
const STRIPES: readonly (readonly [number, number])[] = [
  [0.5, 1 / 6],
  [0.5, 1 / 2],
  [0.5, 5 / 6],
];
const CORS_PAGE = new URL('cors-page.html', import.meta.url);

type Rgb = readonly number[];

/** What the page's functions (cors-page.html) resolve to. */
interface Fetched {
  readonly status?: number;
  readonly headers?: Readonly<Record<string, string | null>>;
  readonly rejected?: string;
  readonly message?: string;
  readonly width?: number;
  readonly pixels?: readonly Rgb[];
  readonly bytes?: number;
  readonly body?: unknown;
}
interface Loaded {
  readonly loaded: boolean;
  readonly pixels?: readonly Rgb[];
  readonly tainted?: string;
}
interface CorsPage {
  fetchImage(url: string, points: typeof STRIPES): Promise<Fetched>;
  fetchBytes(url: string, init: { readonly method?: string; readonly headers?: Readonly<Record<string, string>> }): Promise<Fetched>;
  callApi(url: string, key: string): Promise<Fetched>;
  loadImage(url: string, points: typeof STRIPES): Promise<Loaded>;
}

/** cors-page.html served at every path of a loopback port: a web application's page on an origin of its own. */
async function pageOrigin(html: string): Promise<string> {
  const server = createServer((_request, response) => {
    response.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(html);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise((resolve) => server.close(resolve)));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

interface Setup {
  readonly running: RunningProgImage;
  readonly configFile: string;
  readonly id: string;
  readonly browser: Browser;
  /** The origin PROGIMAGE_CORS_API_ORIGINS names, and one it does not. */
  readonly allowed: string;
  readonly refused: string;
  /** The fixture's colour in the middle of each stripe. */
  readonly stripes: readonly Rgb[];
}

let setup: Setup | undefined;
/** What the setup started, stopped in reverse order after the tests, whether or not the setup finished. */
const cleanups: (() => Promise<unknown>)[] = [];

/** The fixture's own colours, decoded by libvips. */
async function stripesOf(fixture: Buffer): Promise<Rgb[]> {
  const { data, info } = await sharp(fixture).toColourspace('srgb').raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  return STRIPES.map(([x, y]) => {
    const offset = (Math.floor(y * info.height) * info.width + Math.floor(x * info.width)) * info.channels;
    return [...data.subarray(offset, offset + 3)];
  });
}

test.before(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`the browser test needs Debian's Chromium at ${CHROMIUM}: apt-get install chromium (.ci/run installs it when missing)`);
  }
  const fixture = await readFixture(FIXTURE);
  const stripes = await stripesOf(fixture);
  const html = await readFile(CORS_PAGE, 'utf8');
  const allowed = await pageOrigin(html);
  const refused = await pageOrigin(html);
  const dataDir = await mkdtemp(join(tmpdir(), 'progimage-browser-'));
  cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
  const configFile = join(dataDir, 'live.json');
  await writeFile(configFile, '{}');
  const running = await startProgImage({
    PROGIMAGE_DATA_DIR: join(dataDir, 'data'),
    PROGIMAGE_CONFIG_FILE: configFile,
    PROGIMAGE_CORS_API_ORIGINS: allowed,
  });
  cleanups.push(() => running.stop());
  const id = await uploadAccepted(running.baseUrl, fixture);
  const image = await waitForFinalStatus(running.baseUrl, id);
  if (image.status !== 'ready') throw new Error(`the image ended ${image.status}`);
  // As root Chromium runs only without its sandbox: playwright passes --no-sandbox unless chromiumSandbox is true.
  // Its --headless is Chromium's one headless mode since version 132 (the former --headless=new).
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, chromiumSandbox: false });
  cleanups.push(() => browser.close());
  setup = { running, configFile, id, browser, allowed, refused, stripes };
});

test.after.always(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

function started(): Setup {
  if (setup === undefined) throw new Error('the setup failed');
  return setup;
}

/** A new page at `origin`; what its console says is logged with the test (the browser's CORS messages). */
async function openPage(t: ExecutionContext, origin: string): Promise<Page> {
  const context = await started().browser.newContext();
  t.teardown(() => context.close());
  const page = await context.newPage();
  page.on('console', (message) => {
    t.log(`console of ${origin}: ${message.text()}`);
  });
  await page.goto(`${origin}/`);
  return page;
}

/** Calls one of the page's functions (cors-page.html) in the page. */
function inPage<K extends keyof CorsPage>(
  page: Page,
  name: K,
  ...args: Parameters<CorsPage[K]>
): Promise<Awaited<ReturnType<CorsPage[K]>>> {
  return page.evaluate(
    ([functionName, functionArgs]) =>
      (globalThis as unknown as Record<string, (...values: unknown[]) => unknown>)[functionName]?.(...functionArgs),
    [name, args] as const,
  ) as Promise<Awaited<ReturnType<CorsPage[K]>>>;
}

/** Checks each colour is the fixture's within `tolerance` per channel (PNG is lossless: 1 for rounding). */
function checkStripes(t: ExecutionContext, pixels: readonly Rgb[] | undefined, tolerance: number, label: string): void {
  const { stripes } = started();
  t.is(pixels?.length, stripes.length, label);
  stripes.forEach((expected, index) => {
    const actual = pixels?.[index] ?? [];
    const off = Math.max(...expected.map((value, channel) => Math.abs(value - (actual[channel] ?? -999))));
    t.true(off <= tolerance, `${label}: stripe ${index + 1} is rgb(${actual.join(', ')}), the fixture's rgb(${expected.join(', ')})`);
  });
}

test.serial(
  'a page of any origin fetches a signed URL, reads it with HEAD and Range, and draws it into a canvas whose pixels it can read',
  async (t) => {
    const { running, id, allowed, refused } = started();
    t.log(`Chromium ${started().browser.version()}; pages at ${allowed} and ${refused}, ProgImage at ${running.baseUrl}`);
    const url = await signedUrl(running.baseUrl, `/v1/images/${id}.png?w=90`);
    for (const origin of [allowed, refused]) {
      const page = await openPage(t, origin);
      const image = await inPage(page, 'fetchImage', url, STRIPES);
      t.is(image.status, 200, `${origin}: ${image.message ?? ''}`);
      t.is(image.headers?.['content-type'], 'image/png', origin);
      t.regex(image.headers?.etag ?? '', /^"[0-9a-f]{64}"$/, `${origin}: the ETag is exposed`);
      t.is(image.width, 90, origin);
      checkStripes(t, image.pixels, 1, `${origin}: fetch() into a canvas`);
      t.log(`${origin}: fetch() of a signed URL → ${image.status}, pixels ${JSON.stringify(image.pixels)}`);

      const head = await inPage(page, 'fetchBytes', url, { method: 'HEAD' });
      t.is(head.status, 200, `${origin}: ${head.message ?? ''}`);
      t.is(head.bytes, 0, origin);
      t.regex(head.headers?.['content-length'] ?? '', /^[1-9]\d*$/, `${origin}: HEAD tells the length`);
      t.is(head.headers?.['accept-ranges'], 'bytes', `${origin}: Accept-Ranges is exposed`);

      const part = await inPage(page, 'fetchBytes', url, { headers: { Range: 'bytes=0-99' } });
      t.is(part.status, 206, `${origin}: ${part.message ?? ''}`);
      t.is(part.bytes, 100, origin);
      t.regex(part.headers?.['content-range'] ?? '', /^bytes 0-99\/\d+$/, `${origin}: Content-Range is exposed`);
      t.log(
        `${origin}: HEAD → ${head.status}, Content-Length ${head.headers?.['content-length'] ?? ''}; Range bytes=0-99 → ${part.status}, ${part.headers?.['content-range'] ?? ''}`,
      );
    }
  },
);

test.serial('an <img crossorigin="anonymous"> of a signed URL draws into a canvas the page can read', async (t) => {
  const { running, id, refused } = started();
  const url = await signedUrl(running.baseUrl, `/v1/images/${id}.webp?w=90`);
  const page = await openPage(t, refused);
  const image = await inPage(page, 'loadImage', url, STRIPES);
  t.true(image.loaded);
  t.is(image.tainted, undefined, 'getImageData succeeded');
  checkStripes(t, image.pixels, 6, '<img crossorigin> of WebP (lossy) into a canvas');
  t.log(`${refused}: <img crossorigin> of a signed WebP → loaded, pixels ${JSON.stringify(image.pixels)}`);
});

test.serial('the JSON API answers a page of a configured origin; for a page of another origin the fetch rejects', async (t) => {
  const { running, id, allowed, refused } = started();
  const metadata = `${running.baseUrl}/v1/images/${id}`;

  const fromAllowed = await inPage(await openPage(t, allowed), 'callApi', metadata, TEST_API_KEY);
  t.is(fromAllowed.status, 200, fromAllowed.message ?? '');
  t.like(fromAllowed.body, { id, status: 'ready' });
  t.log(`${allowed}: GET /v1/images/ID with an API key → ${fromAllowed.status}`);

  const fromRefused = await inPage(await openPage(t, refused), 'callApi', metadata, TEST_API_KEY);
  t.is(fromRefused.status, undefined);
  t.is(fromRefused.rejected, 'TypeError', JSON.stringify(fromRefused));
  t.log(`${refused}: GET /v1/images/ID with an API key → rejected: ${fromRefused.rejected ?? ''}: ${fromRefused.message ?? ''}`);
});

test.serial(
  'image bytes shared with listed origins only (a live setting): a page of another origin can neither fetch nor draw them',
  async (t) => {
    const { running, id, configFile, allowed, refused } = started();
    await writeFile(configFile, JSON.stringify({ PROGIMAGE_CORS_IMAGE_ORIGINS: allowed }));
    // URLs no browser cache has seen: the answers of "*" must not be reused.
    const url = await signedUrl(running.baseUrl, `/v1/images/${id}.png?w=60`);
    await waitUntil(
      async () =>
        (await anonymousRequest(url, { method: 'HEAD', headers: { Origin: allowed } })).headers.get('access-control-allow-origin') ===
        allowed,
      {
        timeoutMs: 10_000,
        description: 'PROGIMAGE_CORS_IMAGE_ORIGINS to apply',
      },
    );
    const other = await signedUrl(running.baseUrl, `/v1/images/${id}.webp?w=60`);

    const allowedPage = await openPage(t, allowed);
    checkStripes(t, (await inPage(allowedPage, 'fetchImage', url, STRIPES)).pixels, 1, `${allowed}: fetch()`);
    checkStripes(t, (await inPage(allowedPage, 'loadImage', other, STRIPES)).pixels, 6, `${allowed}: <img crossorigin>`);

    const refusedPage = await openPage(t, refused);
    const fetched = await inPage(refusedPage, 'fetchImage', url, STRIPES);
    t.is(fetched.rejected, 'TypeError', JSON.stringify(fetched));
    const loaded = await inPage(refusedPage, 'loadImage', other, STRIPES);
    t.false(loaded.loaded, JSON.stringify(loaded));
    t.log(
      `${refused}: with PROGIMAGE_CORS_IMAGE_ORIGINS=${allowed}: fetch() → ${fetched.rejected ?? ''}, <img crossorigin> → loaded: ${String(loaded.loaded)}`,
    );
  },
);
