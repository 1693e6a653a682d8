import test from 'ava';
import { imageOutcomeOf } from '../../catalog/image-outcome.ts';
import type { ImageRecord } from '../../catalog/image-record.ts';
import { markDeleted, projectEvent } from '../../catalog/project-event.ts';
import { createEvent, type ImageEvent } from '../../lib/events/envelope.ts';
import { outcomeSchema } from '../../lib/events/outcomes.ts';
import { TOPICS } from '../../lib/events/topics.ts';
import { passedEvents, uploadedEvent } from '../support/events.ts';

const subject = { imageId: '7a2b3c4d-5e6f-4a8b-9c0d-aabbccddeeff', tenant: 'acme' };
const events = {
  uploaded: uploadedEvent(subject, { expiresAt: '2030-01-01T00:00:00.000Z' }),
  ...passedEvents(subject),
  infected: createEvent(TOPICS.imageScanned, subject, {
    verdict: 'infected',
    signatures: ['Eicar-Signature'],
    original: { key: `originals/acme/${subject.imageId}`, format: 'jpeg' },
  }),
  failed: createEvent(TOPICS.imageFailed, subject, { stage: 'strip', reason: 'truncated', permanent: true, attempts: 1 }),
};

const recordOf = (...sequence: readonly ImageEvent[]): ImageRecord => {
  const record = sequence.reduce<ImageRecord | null>((current, event) => projectEvent(current, event) ?? current, null);
  if (record === null) throw new Error('a record was made');
  return record;
};

test('a ready image has image.ready with its size, expiry and the links an upstream needs, under an id that is the same every time', (t) => {
  const ready = recordOf(events.uploaded, events.scanned, events.stripped, events.compressed, events.built);
  const outcome = outcomeSchema.parse(imageOutcomeOf(ready));
  const base = `/v1/images/${subject.imageId}`;
  t.deepEqual(outcome, {
    eventId: outcome.eventId,
    type: 'image.ready',
    schemaVersion: 1,
    imageId: subject.imageId,
    tenant: 'acme',
    time: events.built.time,
    payload: {
      format: 'jpeg',
      width: 600,
      height: 450,
      bytes: 1000,
      expiresAt: '2030-01-01T00:00:00.000Z',
      links: { self: base, image: `${base}.jpg`, webp: `${base}.webp` },
      variants: [{ name: 'thumbnail', format: 'webp', width: 600, height: 450, bytes: 1000, url: `${base}/variants/thumbnail.webp` }],
    },
  });
  t.deepEqual(imageOutcomeOf({ ...ready, updatedAt: new Date().toISOString() }), outcome, 'a later copy is the same outcome');
});

test('a failed, an infected and a deleted image have their outcomes, each with its own id; an image on its way has none', (t) => {
  const failed = outcomeSchema.parse(imageOutcomeOf(recordOf(events.uploaded, events.scanned, events.failed)));
  t.like(failed, {
    type: 'image.failed',
    time: events.failed.time,
    payload: { stage: 'strip', reason: 'truncated', links: { self: `/v1/images/${subject.imageId}` } },
  });
  const infected = outcomeSchema.parse(imageOutcomeOf(recordOf(events.uploaded, events.infected)));
  t.like(infected, { type: 'image.infected', payload: { signatures: ['Eicar-Signature'] } });
  const deletedRecord = markDeleted(recordOf(events.uploaded, events.scanned, events.stripped, events.compressed, events.built));
  const deleted = outcomeSchema.parse(imageOutcomeOf(deletedRecord));
  t.like(deleted, { type: 'image.deleted', payload: { deletedAt: deletedRecord.deletedAt } });
  t.is(new Set([failed.eventId, infected.eventId, deleted.eventId]).size, 3);
  t.is(imageOutcomeOf(recordOf(events.uploaded, events.scanned, events.stripped)), null);
});
