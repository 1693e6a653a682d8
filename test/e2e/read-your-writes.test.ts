import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import sharp from 'sharp';
import { createdTenantSchema } from '../../admin/views.ts';
import { anonymousRequest, bearer, imageSchema, json, request, uploadAccepted, waitForFinalStatus } from '../support/api.ts';
import { startProgImage, type RunningProgImage } from '../support/progimage.ts';
import { startSecured } from '../support/secured.ts';

/*
 * Read-your-writes: the catalog records an upload from the event stream a
 * moment after its 202, yet the id the 202 returned is its uploader's image
 * from the first request on — never a 404 — and stays another tenant's 404.
 */

const ADMIN_TOKEN = `test-admin-${randomUUID()}`;
const UPLOADS = 20;

/** A PNG of its own for each upload (equal bytes would be the same image to the deduplication job). */
const distinctPng = (n: number): Promise<Buffer> =>
  sharp({ create: { width: 16, height: 16, channels: 3, background: { r: n, g: 255 - n, b: 128 } } })
    .png()
    .toBuffer();

async function otherTenantKey(baseUrl: string): Promise<string> {
  const reply = await anonymousRequest(`${baseUrl}/v1/admin/tenants`, {
    method: 'POST',
    headers: { ...bearer(ADMIN_TOKEN), 'content-type': 'application/json' },
    body: JSON.stringify({ name: `other-${randomUUID().slice(0, 8)}` }),
  });
  return createdTenantSchema.parse(json(reply)).key.key;
}

function registerReadYourWrites(label: string, start: () => Promise<RunningProgImage>): void {
  test(`${label}: ${UPLOADS} uploads, each read at once: its image every time, and another tenant's 404 like an unknown id`, async (t) => {
    t.timeout(300_000);
    const running = await start();
    t.teardown(() => running.stop());
    const { baseUrl } = running;
    const other = await otherTenantKey(baseUrl);
    const unknown = json(await request(`${baseUrl}/v1/images/${randomUUID()}`, { headers: bearer(other) }));
    for (let n = 0; n < UPLOADS; n += 1) {
      const id = await uploadAccepted(baseUrl, await distinctPng(n));
      const reply = await request(`${baseUrl}/v1/images/${id}`);
      t.is(reply.status, 200, `upload ${n + 1}: ${reply.bytes.toString('utf8', 0, 200)}`);
      if (reply.status === 200) t.is(imageSchema.parse(json(reply)).id, id);
      const theirs = await request(`${baseUrl}/v1/images/${id}`, { headers: bearer(other) });
      t.is(theirs.status, 404, `upload ${n + 1}, asked by another tenant`);
      t.deepEqual(json(theirs), unknown, `upload ${n + 1}, asked by another tenant`);
    }
  });
}

/** The embedded default, under a data folder of its own. */
async function startEmbedded(): Promise<RunningProgImage> {
  const dataDir = await mkdtemp(join(tmpdir(), 'progimage-read-your-writes-'));
  const running = await startProgImage({ PROGIMAGE_DATA_DIR: dataDir, PROGIMAGE_ADMIN_TOKEN: ADMIN_TOKEN });
  return {
    ...running,
    async stop() {
      await running.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

registerReadYourWrites('embedded', startEmbedded);

registerReadYourWrites('servers', async () => {
  const secured = await startSecured('read-your-writes', { PROGIMAGE_ADMIN_TOKEN: ADMIN_TOKEN });
  return { ...secured.running, stop: () => secured.stop() };
});

test(`embedded: ${UPLOADS} images deleted right after their 202 stay deleted once their events come`, async (t) => {
  t.timeout(300_000);
  const running = await startEmbedded();
  t.teardown(() => running.stop());
  const { baseUrl } = running;
  const deleted: string[] = [];
  for (let n = 0; n < UPLOADS; n += 1) {
    const id = await uploadAccepted(baseUrl, await distinctPng(n));
    t.is((await request(`${baseUrl}/v1/images/${id}`, { method: 'DELETE' })).status, 204, `upload ${n + 1}`);
    deleted.push(id);
  }
  // An upload after them has gone through the pipeline: their events have been projected by then.
  const later = await uploadAccepted(baseUrl, await distinctPng(UPLOADS));
  t.is((await waitForFinalStatus(baseUrl, later)).status, 'ready');
  for (const [n, id] of deleted.entries()) {
    const reply = await request(`${baseUrl}/v1/images/${id}`);
    t.is(reply.status, 404, `upload ${n + 1}: ${reply.bytes.toString('utf8', 0, 200)}`);
  }
});
