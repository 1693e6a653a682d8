import test from 'ava';
import { createDisabledScanner } from '../../lib/adapters/disabled-scanner.ts';
import { DependencyUnavailableError } from '../../lib/errors.ts';
import { TOPICS } from '../../lib/events/topics.ts';
import { BlobNotFoundError } from '../../lib/ports/blob-store.ts';
import { createScanStage } from '../../processors/scan/scan-stage.ts';
import { scanStage } from '../../processors/scan/service.ts';
import { uploadedEvent } from '../support/events.ts';
import { readFixture } from '../support/fixtures.ts';
import { jpegWithEicarComment } from '../support/images.ts';
import {
  SUBJECT,
  eicarScanner,
  emptyBlobStore,
  scanDependencies,
  startStageOnBus,
  storeContents,
  unreachableClamd,
  withoutIdentity,
} from '../support/stage-harness.ts';

// image.uploaded → image.scanned: the original streamed to the scanner before anything decodes it.

const ORIGINAL_KEY = `originals/default/${SUBJECT.imageId}`;
const QUARANTINE_KEY = `quarantine/default/${SUBJECT.imageId}`;

const uploaded = (bytes: Buffer) => uploadedEvent(SUBJECT, { bytes: bytes.length, width: 320, height: 240 });

async function storeWithOriginal(bytes: Buffer) {
  const blobs = await emptyBlobStore();
  await blobs.put(ORIGINAL_KEY, bytes, { contentType: 'image/jpeg' });
  return blobs;
}

test('a clean original: image.scanned with verdict clean, the engine and signature version, and the original left where it is', async (t) => {
  const original = await readFixture('320x240.jpg');
  const blobs = await storeWithOriginal(original);
  const scanner = eicarScanner();
  const dependencies = scanDependencies(blobs, scanner);
  const [scanned, ...more] = await createScanStage(dependencies)(uploaded(original));

  t.is(more.length, 0);
  t.like(scanned, { type: TOPICS.imageScanned, imageId: SUBJECT.imageId, tenant: 'default' });
  t.deepEqual(scanned?.payload, {
    verdict: 'clean',
    original: { key: ORIGINAL_KEY, format: 'jpeg' },
    signatures: [],
    engine: 'ClamAV 1.4.6',
    signatureVersion: '27543',
  });
  t.deepEqual(scanner.scanned, [original], 'the scanner read the whole original, once');
  t.deepEqual(Object.keys(await storeContents(blobs)), [ORIGINAL_KEY], 'nothing written, nothing moved');
  t.is(await dependencies.verdictCount('clean'), 1);
});

test('a clean original in place takes one request to the blob store: it is read, not looked up first', async (t) => {
  const original = await readFixture('320x240.jpg');
  const blobs = await storeWithOriginal(original);
  const requests: string[] = [];
  const counted = new Proxy(blobs, {
    get(target, name, receiver) {
      const value: unknown = Reflect.get(target, name, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        requests.push(`${String(name)} ${String(args[0])}`);
        return Reflect.apply(value, target, args) as unknown;
      };
    },
  });
  await createScanStage(scanDependencies(counted, eicarScanner()))(uploaded(original));
  t.deepEqual(requests, [`getStream ${ORIGINAL_KEY}`]);
});

test('an infected original: verdict infected with the signatures, the original moved to quarantine and named in the event', async (t) => {
  const original = await jpegWithEicarComment();
  const blobs = await storeWithOriginal(original);
  const dependencies = scanDependencies(blobs, eicarScanner());
  const [scanned] = await createScanStage(dependencies)(uploaded(original));

  t.deepEqual(scanned?.payload, {
    verdict: 'infected',
    original: { key: ORIGINAL_KEY, format: 'jpeg' },
    signatures: ['ProgImage.Test.EICAR'],
    engine: 'ClamAV 1.4.6',
    signatureVersion: '27543',
    quarantineKey: QUARANTINE_KEY,
  });
  t.is(await blobs.stat(ORIGINAL_KEY), null, 'no longer among the originals');
  t.deepEqual(await blobs.get(QUARANTINE_KEY), original, 'kept, byte for byte, in quarantine');
  t.is(await dependencies.verdictCount('infected'), 1);
});

test('with scanning switched off every verdict is unscanned, visibly, and the original is not read', async (t) => {
  const blobs = await emptyBlobStore(); // no original at all: the disabled scanner must not need one
  const dependencies = scanDependencies(blobs, createDisabledScanner());
  const [scanned] = await createScanStage(dependencies)(uploaded(await readFixture('320x240.jpg')));

  t.deepEqual(scanned?.payload, { verdict: 'unscanned', signatures: [], original: { key: ORIGINAL_KEY, format: 'jpeg' } });
  t.is(await dependencies.verdictCount('unscanned'), 1);
});

test('redelivered after the original was quarantined: the same verdict, scanned from quarantine, nothing else moved', async (t) => {
  const original = await jpegWithEicarComment();
  const blobs = await storeWithOriginal(original);
  const scanner = eicarScanner();
  const handle = createScanStage(scanDependencies(blobs, scanner));
  const event = uploaded(original);
  const first = await handle(event);
  const afterFirst = await storeContents(blobs);
  const second = await handle(event);

  t.deepEqual(withoutIdentity(second), withoutIdentity(first));
  t.deepEqual(scanner.scanned, [original, original], 'the quarantined copy was scanned again');
  t.deepEqual(await storeContents(blobs), afterFirst);
  t.deepEqual(Object.keys(afterFirst), [QUARANTINE_KEY]);
});

test('redelivered after a clean verdict: the same verdict, the store untouched', async (t) => {
  const original = await readFixture('320x240.jpg');
  const blobs = await storeWithOriginal(original);
  const handle = createScanStage(scanDependencies(blobs, eicarScanner()));
  const event = uploaded(original);
  const before = await storeContents(blobs);
  const first = await handle(event);
  const second = await handle(event);

  t.deepEqual(withoutIdentity(second), withoutIdentity(first));
  t.deepEqual(await storeContents(blobs), before);
});

test('an original missing from the blob store is a permanent failure: no retry brings it back', async (t) => {
  const blobs = await emptyBlobStore();
  const error = await t.throwsAsync(createScanStage(scanDependencies(blobs, eicarScanner()))(uploaded(Buffer.alloc(1))), {
    instanceOf: BlobNotFoundError,
  });
  t.false(error.retriable);
  t.is(error.key, ORIGINAL_KEY, 'the error names the original, not where a quarantined one would be');
});

test('clamd not answering is retriable (DependencyUnavailableError), never a verdict, and moves nothing', async (t) => {
  const original = await jpegWithEicarComment();
  const blobs = await storeWithOriginal(original);
  const dependencies = scanDependencies(blobs, await unreachableClamd());
  const error = await t.throwsAsync(createScanStage(dependencies)(uploaded(original)), { instanceOf: DependencyUnavailableError });
  t.true(error.retriable);
  t.deepEqual(await blobs.get(ORIGINAL_KEY), original);
  t.is(await blobs.stat(QUARANTINE_KEY), null);
  t.is((await dependencies.verdicts.get()).values.length, 0, 'no verdict counted');
});

test('on the runner: consumes image.uploaded as progimage-scan; a missing original fails the image at scan, permanently, and is dead-lettered', async (t) => {
  const blobs = await emptyBlobStore();
  const stage = await startStageOnBus(t, scanStage(scanDependencies(blobs, eicarScanner())));
  const event = uploaded(Buffer.alloc(1));
  await stage.publish(event);

  const [failed] = await stage.events(TOPICS.imageFailed);
  t.like(failed, { imageId: SUBJECT.imageId, payload: { stage: 'scan', permanent: true, attempts: 1 } });
  t.regex(failed?.payload.reason ?? '', /no blob at originals\/default\//);
  const [letter] = await stage.deadLetters();
  t.like(letter, { group: 'progimage-scan', topic: TOPICS.imageUploaded, key: SUBJECT.imageId, attempts: 1 });
  t.is(stage.seen(TOPICS.imageScanned).length, 0);
});

test('on the runner: a clean original is published on image.scanned, keyed by the image id', async (t) => {
  const original = await readFixture('320x240.jpg');
  const stage = await startStageOnBus(t, scanStage(scanDependencies(await storeWithOriginal(original), eicarScanner())));
  await stage.publish(uploaded(original));
  const [scanned] = await stage.events(TOPICS.imageScanned);
  t.like(scanned, { imageId: SUBJECT.imageId, payload: { verdict: 'clean' } });
});
