import test from 'ava';
import { createOutcomeAnnouncer } from '../../catalog/announce-outcome.ts';
import type { ImageRecord } from '../../catalog/image-record.ts';
import type { ImagesCollection } from '../../catalog/images-collection.ts';
import { projectEvent } from '../../catalog/project-event.ts';
import { createEvent } from '../../lib/events/envelope.ts';
import { TOPICS } from '../../lib/events/topics.ts';
import type { BusMessage, EventBus } from '../../lib/ports/event-bus.ts';
import { uploadedEvent } from '../support/events.ts';

const subject = { imageId: '7a2b3c4d-5e6f-4a8b-9c0d-aabbccddeeff', tenant: 'acme' };
const uploaded = uploadedEvent(subject);
const failed = createEvent(TOPICS.imageFailed, subject, { stage: 'strip', reason: 'truncated', permanent: true, attempts: 1 });

function failedRecord(): ImageRecord {
  const record = projectEvent(projectEvent(null, uploaded), failed);
  if (record === null) throw new Error('a record was made');
  return record;
}

/** One image record in memory, with its version, counting the reads and saves of it. */
function storedImage(record: ImageRecord, version: number) {
  const stored = { record, version, reads: 0, saves: 0 };
  const images = {
    get: () => {
      stored.reads += 1;
      return Promise.resolve({ document: stored.record, version: stored.version });
    },
    save: (document: ImageRecord, expectedVersion: number | null) => {
      stored.saves += 1;
      if (expectedVersion !== stored.version) return Promise.resolve(null);
      stored.record = document;
      stored.version += 1;
      return Promise.resolve(stored.version);
    },
  } as Partial<ImagesCollection> as ImagesCollection;
  return { stored, images };
}

function publishedTypes(): { bus: EventBus; published: string[] } {
  const published: string[] = [];
  const bus = {
    publish: (_topic: unknown, messages: readonly BusMessage[]) => {
      for (const message of messages) published.push((JSON.parse(message.value.toString()) as { type: string }).type);
      return Promise.resolve();
    },
  } as Partial<EventBus> as EventBus;
  return { bus, published };
}

test('an outcome announced with the version just saved is recorded on that version, without reading the record again', async (t) => {
  const record = failedRecord();
  const { stored, images } = storedImage(record, 3);
  const { bus, published } = publishedTypes();
  await createOutcomeAnnouncer(bus, images)(record, 3);
  t.deepEqual(published, ['image.failed']);
  t.deepEqual(stored.record.outcomesAnnounced, ['image.failed']);
  t.like(stored, { version: 4, reads: 0, saves: 1 });
});

test('an outcome announced with a version no longer current reads the record again and is recorded once', async (t) => {
  const record = failedRecord();
  const { stored, images } = storedImage(record, 5);
  const { bus, published } = publishedTypes();
  await createOutcomeAnnouncer(bus, images)(record, 4);
  t.deepEqual(published, ['image.failed']);
  t.deepEqual(stored.record.outcomesAnnounced, ['image.failed']);
  t.like(stored, { version: 6, reads: 1, saves: 2 });
});

test('an outcome announced without a version reads the record first', async (t) => {
  const record = failedRecord();
  const { stored, images } = storedImage(record, 2);
  const { bus } = publishedTypes();
  await createOutcomeAnnouncer(bus, images)(record);
  t.deepEqual(stored.record.outcomesAnnounced, ['image.failed']);
  t.like(stored, { version: 3, reads: 1, saves: 1 });
});
