import test, { type ExecutionContext } from 'ava';
import { InProgressRecords } from '../../catalog/in-progress-records.ts';
import { openImagesCollection, type ImagesCollection } from '../../catalog/images-collection.ts';
import { projectEvent } from '../../catalog/project-event.ts';
import { createEvent, type ImageEvent } from '../../lib/events/envelope.ts';
import { TOPICS } from '../../lib/events/topics.ts';
import { countingCalls, temporaryCatalogStore } from '../support/counted-calls.ts';
import { passedEvents, uploadedEvent } from '../support/events.ts';

const subject = { imageId: '1c2d3e4f-5a6b-4c7d-8e9f-a0b1c2d3e4f5', tenant: 'acme' };
const uploaded = uploadedEvent(subject);
const { scanned, stripped, compressed, built } = passedEvents(subject);

/** The images collection of an embedded catalog store of the test's own, its reads counted. */
async function countedImages(t: ExecutionContext): Promise<{ images: ImagesCollection; reads: () => number }> {
  const { collection, calls } = countingCalls(await openImagesCollection(await temporaryCatalogStore(t)));
  return { images: collection, reads: () => calls.get };
}

const project = (event: ImageEvent) => (record: Parameters<typeof projectEvent>[0]) => projectEvent(record, event);

test("an image's next events are projected on the record this process saved, without reading it again", async (t) => {
  const { images, reads } = await countedImages(t);
  const records = new InProgressRecords(images);
  await records.update(uploaded, project(uploaded));
  t.is(reads(), 0, 'image.uploaded inserts the record without reading that there is none');
  await records.update(scanned, project(scanned));
  await records.update(stripped, project(stripped));
  t.is(reads(), 0);
  t.like((await images.get(subject.imageId))?.document, { status: 'stripped', scan: { verdict: 'clean' }, master: { bytes: 1000 } });
});

test('a record another writer saved meanwhile is read again, and both changes are kept', async (t) => {
  const { images, reads } = await countedImages(t);
  const records = new InProgressRecords(images);
  await records.update(uploaded, project(uploaded));
  await records.update(scanned, project(scanned));
  const stored = await images.get(subject.imageId);
  if (stored === null) throw new Error('the record was saved');
  t.not(await images.save({ ...stored.document, outcomesAnnounced: ['image.failed'] }, stored.version), null);
  const readsBefore = reads();

  await records.update(stripped, project(stripped));
  t.is(reads(), readsBefore + 1);
  t.like((await images.get(subject.imageId))?.document, { master: { bytes: 1000 }, outcomesAnnounced: ['image.failed'] });
});

test('an event with nothing to change on the remembered record is judged on the stored one', async (t) => {
  const { images } = await countedImages(t);
  const records = new InProgressRecords(images);
  await records.update(uploaded, project(uploaded));
  await records.update(scanned, project(scanned));
  // Another writer takes the scan away (as a stale replica's save would); the remembered record still has it.
  const stored = await images.get(subject.imageId);
  if (stored === null) throw new Error('the record was saved');
  const { scan: _taken, ...withoutScan } = stored.document;
  t.not(await images.save(withoutScan, stored.version), null);

  const updated = await records.update(scanned, project(scanned));
  t.like(updated?.document, { scan: { verdict: 'clean' } });
  t.like((await images.get(subject.imageId))?.document, { scan: { verdict: 'clean' } });
});

test('an image.uploaded whose record exists already (a redelivery, or an event of a faster topic first) reads it, and keeps what it holds', async (t) => {
  const { images, reads } = await countedImages(t);
  const records = new InProgressRecords(images);
  await records.update(scanned, project(scanned));
  t.is(reads(), 1, 'any other event reads first');
  await new InProgressRecords(images).update(uploaded, project(uploaded));
  t.is(reads(), 2, 'the insert failed, so the record was read');
  t.like((await images.get(subject.imageId))?.document, {
    status: 'clean',
    scan: { verdict: 'clean' },
    original: { bytes: uploaded.payload.bytes },
  });
});

test('a settled image is forgotten: its next event reads the record', async (t) => {
  const { images, reads } = await countedImages(t);
  const records = new InProgressRecords(images);
  for (const event of [uploaded, scanned, stripped, compressed, built]) await records.update(event, project(event));
  t.is((await images.get(subject.imageId))?.document.status, 'ready');
  const readsBefore = reads();
  const rescanned = createEvent(TOPICS.imageRescanned, subject, { ...scanned.payload, verdict: 'infected', signatures: ['New.Sig'] });
  await records.update(rescanned, project(rescanned));
  t.is(reads(), readsBefore + 1);
  t.is((await images.get(subject.imageId))?.document.status, 'infected');
});
