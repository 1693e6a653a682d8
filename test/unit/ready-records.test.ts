import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { createFolderBlobStore } from '../../lib/adapters/folder-blob-store.ts';
import type { ImageRecord } from '../../catalog/image-record.ts';
import { openImagesCollection } from '../../catalog/images-collection.ts';
import { ReadyRecords } from '../../catalog/ready-records.ts';
import { HttpError } from '../../lib/http/errors.ts';
import { BlobNotFoundError } from '../../lib/ports/blob-store.ts';
import { countingCalls, temporaryCatalogStore } from '../support/counted-calls.ts';

const FRESH_MS = 1000;
const id = '0b6c1f8e-3c1a-4d8e-9f7a-2b1c3d4e5f60';
const at = '2026-12-07T12:00:00.000Z';
const rendition = { format: 'jpeg', width: 2725, height: 2225, bytes: 579_316, pages: 1 } as const;

function recordOf(status: 'ready' | 'compressed'): ImageRecord {
  return {
    id,
    tenant: 'acme',
    status,
    createdAt: at,
    updatedAt: at,
    master: { key: `derived/acme/${id}/master.jpg`, ...rendition, at },
    compression: {
      master: { key: `derived/acme/${id}/compressed.jpg`, ...rendition },
      bytesBefore: 829_183,
      bytesAfter: 579_316,
      kept: true,
      at,
    },
    ...(status === 'ready' ? { variants: { items: [], at } } : {}),
  };
}

/** The record `serve` is given. */
const find = (records: ReadyRecords, tenant: string, imageId: string): Promise<ImageRecord> =>
  records.serve(tenant, imageId, (image) => Promise.resolve(image));

/** ReadyRecords over an images collection of the test's own holding `record`, its reads counted, on a clock the test moves. */
async function setUp(t: ExecutionContext, record: ImageRecord, freshMs = FRESH_MS) {
  const { collection: images, calls } = countingCalls(await openImagesCollection(await temporaryCatalogStore(t)));
  await images.save(record, null);
  const blobRoot = await mkdtemp(join(tmpdir(), 'progimage-blobs-'));
  t.teardown(() => rm(blobRoot, { recursive: true, force: true }));
  // Not 0: lru-cache takes a start time of 0 for none.
  const clock = { now: 1_000_000 };
  const records = new ReadyRecords(
    { images, blobs: await createFolderBlobStore(blobRoot) },
    { maxEntries: 10, freshMs, now: () => clock.now },
  );
  return { records, reads: () => calls.get, clock };
}

test('a ready image asked for again within the window is not read again; after it, it is', async (t) => {
  const { records, reads, clock } = await setUp(t, recordOf('ready'));
  t.is((await find(records, 'acme', id)).status, 'ready');
  clock.now += FRESH_MS - 1;
  t.is((await find(records, 'acme', id)).status, 'ready');
  t.is(reads(), 1);

  clock.now += 2;
  await find(records, 'acme', id);
  t.is(reads(), 2, 'read anew once the window is over');
});

const readEveryTime = test.macro(async (t, record: ImageRecord, freshMs: number) => {
  const { records, reads } = await setUp(t, record, freshMs);
  await find(records, 'acme', id);
  await find(records, 'acme', id);
  t.is(reads(), 2);
});

test('an image not ready yet is read every time', readEveryTime, recordOf('compressed'), FRESH_MS);

test('a forgotten image is read again at once', async (t) => {
  const { records, reads } = await setUp(t, recordOf('ready'));
  await find(records, 'acme', id);
  records.forget(id);
  await find(records, 'acme', id);
  t.is(reads(), 2);
});

test("another tenant asking for a held image's id gets the 404 of an unknown id", async (t) => {
  const { records } = await setUp(t, recordOf('ready'));
  await find(records, 'acme', id);
  const error = await t.throwsAsync(find(records, 'globex', id), { instanceOf: HttpError });
  t.is(error.status, 404);
});

test('a window of 0 reads every time', readEveryTime, recordOf('ready'), 0);

test('a blob gone under a held record: served once more, with the record read anew', async (t) => {
  const { records, reads } = await setUp(t, recordOf('ready'));
  await find(records, 'acme', id);
  let attempts = 0;
  const served = await records.serve('acme', id, (image) => {
    attempts += 1;
    return attempts === 1 ? Promise.reject(new BlobNotFoundError(image.master?.key ?? '')) : Promise.resolve(image.status);
  });
  t.is(served, 'ready');
  t.is(attempts, 2);
  t.is(reads(), 2, 'read anew for the second attempt');
});

test('a blob gone under a record just read is not tried again', async (t) => {
  const { records } = await setUp(t, recordOf('ready'));
  let attempts = 0;
  await t.throwsAsync(
    records.serve('acme', id, (image) => {
      attempts += 1;
      return Promise.reject(new BlobNotFoundError(image.master?.key ?? ''));
    }),
    { instanceOf: BlobNotFoundError },
  );
  t.is(attempts, 1);
});
