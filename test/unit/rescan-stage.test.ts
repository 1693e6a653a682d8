import test from 'ava';
import { DependencyUnavailableError } from '../../lib/errors.ts';
import { createEvent } from '../../lib/events/envelope.ts';
import { TOPICS } from '../../lib/events/topics.ts';
import { BlobNotFoundError } from '../../lib/ports/blob-store.ts';
import { ScanIncompleteError, type Scanner } from '../../lib/ports/scanner.ts';
import { createRescanStage } from '../../processors/rescan/rescan-stage.ts';
import { rescanStage } from '../../processors/rescan/service.ts';
import { readFixture } from '../support/fixtures.ts';
import { jpegWithEicarComment } from '../support/images.ts';
import {
  SUBJECT,
  eicarScanner,
  emptyBlobStore,
  onlyEvent,
  scanDependencies,
  startStageOnBus,
  storeContents,
  unreachableClamd,
  withoutIdentity,
} from '../support/stage-harness.ts';

// image.rescan-requested → image.rescanned: a clean image's original scanned again with the signatures the
// scanner has now. Found infected, the original moves to quarantine and the catalog stops serving the image.

const ORIGINAL_KEY = `originals/default/${SUBJECT.imageId}`;
const QUARANTINE_KEY = `quarantine/default/${SUBJECT.imageId}`;
/** Another image's original, which this image shares (deduplicated: the same bytes, the same tenant). */
const SHARED_KEY = 'originals/default/0b7e5c1d-2f3a-4b6c-8d9e-aabbccdd0002';

const rescanRequested = (key = ORIGINAL_KEY) => createEvent(TOPICS.imageRescanRequested, SUBJECT, { original: { key, format: 'jpeg' } });

async function storeOriginal(bytes: Buffer, key = ORIGINAL_KEY) {
  const blobs = await emptyBlobStore();
  await blobs.put(key, bytes, { contentType: 'image/jpeg' });
  return blobs;
}

test('an original still clean: image.rescanned with the new verdict, engine and signature version; the original stays', async (t) => {
  const original = await readFixture('320x240.jpg');
  const blobs = await storeOriginal(original);
  const scanner = eicarScanner();
  const dependencies = scanDependencies(blobs, scanner);
  const rescanned = onlyEvent(await createRescanStage(dependencies)(rescanRequested()), TOPICS.imageRescanned);

  t.like(rescanned, { imageId: SUBJECT.imageId, tenant: 'default' });
  t.deepEqual(rescanned.payload, {
    verdict: 'clean',
    original: { key: ORIGINAL_KEY, format: 'jpeg' },
    signatures: [],
    engine: 'ClamAV 1.4.6',
    signatureVersion: '27543',
  });
  t.deepEqual(scanner.scanned, [original]);
  t.deepEqual(Object.keys(await storeContents(blobs)), [ORIGINAL_KEY]);
  t.is(await dependencies.verdictCount('clean'), 1);
});

test('an original found infected now: verdict infected with the signatures, the original moved to quarantine and named', async (t) => {
  const original = await jpegWithEicarComment();
  const blobs = await storeOriginal(original);
  const rescanned = onlyEvent(await createRescanStage(scanDependencies(blobs, eicarScanner()))(rescanRequested()), TOPICS.imageRescanned);

  t.like(rescanned.payload, { verdict: 'infected', signatures: ['ProgImage.Test.EICAR'], quarantineKey: QUARANTINE_KEY });
  t.is(await blobs.stat(ORIGINAL_KEY), null);
  t.deepEqual(await blobs.get(QUARANTINE_KEY), original);
});

test("an infected original shared with another image (deduplicated) is reported, and left for that image's own re-scan to move", async (t) => {
  const blobs = await storeOriginal(await jpegWithEicarComment(), SHARED_KEY);
  const rescanned = onlyEvent(
    await createRescanStage(scanDependencies(blobs, eicarScanner()))(rescanRequested(SHARED_KEY)),
    TOPICS.imageRescanned,
  );

  t.like(rescanned.payload, { verdict: 'infected', original: { key: SHARED_KEY } });
  t.false('quarantineKey' in rescanned.payload);
  t.deepEqual(Object.keys(await storeContents(blobs)), [SHARED_KEY], 'nothing moved');
});

test('redelivered after the original was quarantined: the same verdict, from the quarantined copy', async (t) => {
  const original = await jpegWithEicarComment();
  const blobs = await storeOriginal(original);
  const handle = createRescanStage(scanDependencies(blobs, eicarScanner()));
  const event = rescanRequested();
  const first = await handle(event);
  const afterFirst = await storeContents(blobs);
  const second = await handle(event);

  t.deepEqual(withoutIdentity(second), withoutIdentity(first));
  t.deepEqual(await storeContents(blobs), afterFirst);
});

test('clamd not answering is retriable, never a verdict, and nothing moves', async (t) => {
  const original = await jpegWithEicarComment();
  const blobs = await storeOriginal(original);
  const error = await t.throwsAsync(createRescanStage(scanDependencies(blobs, await unreachableClamd()))(rescanRequested()), {
    instanceOf: DependencyUnavailableError,
  });
  t.true(error.retriable);
  t.deepEqual(Object.keys(await storeContents(blobs)), [ORIGINAL_KEY]);
});

test('an original no longer in the store is a permanent failure', async (t) => {
  const error = await t.throwsAsync(createRescanStage(scanDependencies(await emptyBlobStore(), eicarScanner()))(rescanRequested()), {
    instanceOf: BlobNotFoundError,
  });
  t.false(error.retriable);
});

test('on the runner: consumes image.rescan-requested as progimage-rescan; what it gives up on is dead-lettered only, never image.failed', async (t) => {
  const original = await readFixture('320x240.jpg');
  const blobs = await storeOriginal(original);
  let scans = 0;
  const incompleteThreeTimes: Scanner = {
    enabled: true,
    // Three incomplete scans use up the runner's three attempts; the next request is scanned.
    scan(body) {
      scans += 1;
      if (scans > 3) return eicarScanner().scan(body);
      if (!Buffer.isBuffer(body)) body.destroy();
      return Promise.reject(new ScanIncompleteError('a time limit'));
    },
    checkHealth: () => Promise.resolve(),
  };
  const stage = await startStageOnBus(t, rescanStage(scanDependencies(blobs, incompleteThreeTimes)));
  await stage.publish(rescanRequested()); // retriable, retried, given up on
  await stage.publish(rescanRequested('originals/default/missing')); // permanent, given up on at once
  await stage.publish(rescanRequested()); // handled: one image's events in order, so the two above are settled

  const [rescanned] = await stage.events(TOPICS.imageRescanned);
  t.like(rescanned?.payload, { verdict: 'clean' });
  const letters = await stage.deadLetters(2);
  t.like(letters, [
    { group: 'progimage-rescan', topic: TOPICS.imageRescanRequested, attempts: 3 },
    { group: 'progimage-rescan', topic: TOPICS.imageRescanRequested, attempts: 1 },
  ]);
  t.is(stage.seen(TOPICS.imageFailed).length, 0, 'the image keeps its earlier verdict');
  t.is(stage.seen(TOPICS.imageRescanned).length, 1);
});
