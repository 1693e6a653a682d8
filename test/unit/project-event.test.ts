import test from 'ava';
import { createEvent, type ImageEvent } from '../../lib/events/envelope.ts';
import { TOPICS } from '../../lib/events/topics.ts';
import type { ImageRecord } from '../../catalog/image-record.ts';
import { markDeleted, projectEvent } from '../../catalog/project-event.ts';
import { uploadedEvent } from '../support/events.ts';

const subject = { imageId: '6f1c2a4e-3b5d-4c7e-9f10-112233445566', tenant: 'default' };
const master = { key: 'derived/default/x/master.jpg', format: 'jpeg', width: 600, height: 450, bytes: 1000, pages: 1 } as const;

const uploaded = uploadedEvent(subject);
const scanned = createEvent(TOPICS.imageScanned, subject, {
  verdict: 'clean',
  signatures: [],
  original: { key: 'originals/default/x', format: 'jpeg' },
});
const stripped = createEvent(TOPICS.imageStripped, subject, { master });
const compressed = createEvent(TOPICS.imageCompressed, subject, { master, bytesBefore: 1000, bytesAfter: 1000, kept: false });
const built = createEvent(TOPICS.imageVariantsBuilt, subject, { variants: [{ ...master, name: 'thumbnail' }] });

function replay(events: readonly ImageEvent[], start: ImageRecord | null = null): ImageRecord | null {
  return events.reduce<ImageRecord | null>((record, event) => projectEvent(record, event) ?? record, start);
}

const withoutTimes = (record: ImageRecord | null) => record && { ...record, updatedAt: '' };

test('the events of a successful pipeline make a ready record', (t) => {
  const record = replay([uploaded, scanned, stripped, compressed, built]);
  t.is(record?.status, 'ready');
  t.is(record?.original?.sha256, 'a'.repeat(64));
  t.is(record?.variants?.items.length, 1);
});

test('replaying an event already applied changes nothing', (t) => {
  const record = replay([uploaded, scanned, stripped]);
  if (record === null) throw new Error('a record was made');
  t.is(projectEvent(record, stripped), null);
  t.is(projectEvent(record, uploaded), null);
});

test('the same events in another order (across topics) make the same record', (t) => {
  const inOrder = replay([uploaded, scanned, stripped, compressed, built]);
  const shuffled = replay([built, stripped, uploaded, compressed, scanned]);
  t.deepEqual(withoutTimes(shuffled), withoutTimes(inOrder));
});

test('an infected verdict wins over everything and a failure over progress', (t) => {
  const infected = createEvent(TOPICS.imageScanned, subject, { ...scanned.payload, verdict: 'infected', signatures: ['Eicar'] });
  t.is(replay([uploaded, infected])?.status, 'infected');
  const failed = createEvent(TOPICS.imageFailed, subject, { stage: 'strip', reason: 'truncated', permanent: true, attempts: 1 });
  t.is(replay([uploaded, scanned, failed])?.status, 'failed');
});

test('a later stage projected before an earlier one does not advance the status', (t) => {
  t.is(replay([uploaded, built])?.status, 'uploaded');
  t.is(replay([uploaded, scanned, built])?.status, 'clean');
  t.is(replay([uploaded, scanned, stripped, built])?.status, 'stripped');
  t.is(replay([uploaded, scanned, compressed])?.status, 'clean');
  t.is(replay([built, compressed, stripped, scanned])?.status, 'ready');
});

test('a deleted image takes no more events', (t) => {
  const record = replay([uploaded, scanned]);
  if (record === null) throw new Error('a record was made');
  const deleted = markDeleted(record);
  t.is(deleted.status, 'deleted');
  t.is(projectEvent(deleted, stripped), null);
});

test('the first sighting of an image sets createdAt to its earliest event', (t) => {
  const late = { ...stripped, time: '2030-01-01T00:00:00.000Z' };
  const early = { ...uploaded, time: '2029-01-01T00:00:00.000Z' };
  t.is(replay([late, early])?.createdAt, '2029-01-01T00:00:00.000Z');
});

test("a re-scan's verdict replaces the first one; an older or replayed re-scan changes nothing, and infected stays infected", (t) => {
  const later = (seconds: number) => new Date(Date.parse(scanned.time) + seconds * 1000).toISOString();
  const rescan = (verdict: 'clean' | 'infected', seconds: number) => ({
    ...createEvent(TOPICS.imageRescanned, subject, { ...scanned.payload, verdict, signatures: verdict === 'infected' ? ['New.Sig'] : [] }),
    time: later(seconds),
  });
  const ready = replay([uploaded, scanned, stripped, compressed, built]);
  const infected = replay([rescan('infected', 10)], ready);
  t.is(infected?.status, 'infected');
  t.deepEqual(infected?.scan?.signatures, ['New.Sig']);
  t.is(replay([rescan('clean', 20)], infected)?.status, 'infected', 'a quarantined image is not released by a later re-scan');
  const rescannedClean = replay([rescan('clean', 10)], ready);
  t.is(rescannedClean?.status, 'ready');
  t.is(rescannedClean?.scan?.at, later(10));
  if (rescannedClean === null) throw new Error('a record was made');
  t.is(projectEvent(rescannedClean, rescan('infected', 5)), null, 'a re-scan older than the verdict in force');
  t.is(projectEvent(null, rescan('infected', 5)), null, 'no re-scan of an image never scanned');
});
