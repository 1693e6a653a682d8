import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { Registry } from 'prom-client';
import { pino } from 'pino';
import { createInProcessEventBus } from '../../lib/adapters/in-process-event-bus.ts';
import { DependencyUnavailableError } from '../../lib/errors.ts';
import { deadLetterSchema, type DeadLetter } from '../../lib/events/dead-letter.ts';
import { createEvent, decodeEvent, encodeEvent, type EventOf, type ImageEvent } from '../../lib/events/envelope.ts';
import { TOPICS, type Topic } from '../../lib/events/topics.ts';
import { UnprocessableImageError } from '../../lib/errors.ts';
import { runConsumer, type EventHandler } from '../../lib/pipeline/consumer.ts';
import { imageFailedAt } from '../../lib/pipeline/stage.ts';
import type { EventBus } from '../../lib/ports/event-bus.ts';
import { waitUntil } from '../../lib/wait.ts';

const subject = { imageId: '0b7e5c1d-2f3a-4b6c-8d9e-aabbccddeeff', tenant: 'default' };
const uploaded = createEvent(TOPICS.imageUploaded, subject, {
  originalKey: 'originals/default/x',
  format: 'png',
  contentType: 'image/png',
  bytes: 10,
  sha256: 'b'.repeat(64),
  width: 1,
  height: 1,
});
const scanned = createEvent(TOPICS.imageScanned, subject, {
  verdict: 'clean',
  signatures: [],
  original: { key: 'originals/default/x', format: 'png' },
});

const quiet = pino({ level: 'silent' });
const fastRetry = { attempts: 3, baseDelayMs: 1, maxDelayMs: 5 };

/** A bus in a fresh folder, and everything that reaches the topics a test watches. */
async function harness(watched: readonly Topic[]) {
  const bus = await createInProcessEventBus(mkdtempSync(join(tmpdir(), 'consumer-test-')));
  const seen: { topic: Topic; value: Buffer }[] = [];
  await bus.subscribe('watcher', watched, (message) => {
    seen.push({ topic: message.topic, value: message.value });
    return Promise.resolve();
  });
  return { bus, seen };
}

function start(bus: EventBus, handle: EventHandler) {
  return runConsumer({
    bus,
    log: quiet,
    group: 'stage-under-test',
    topics: [TOPICS.imageUploaded],
    handle,
    retry: fastRetry,
    reportGivenUp: imageFailedAt('scan'),
    metrics: new Registry(),
  });
}

const deadLetters = (seen: readonly { topic: Topic; value: Buffer }[]): DeadLetter[] =>
  seen.filter(({ topic }) => topic === TOPICS.deadLetter).map(({ value }) => deadLetterSchema.parse(JSON.parse(value.toString('utf8'))));

const failures = (seen: readonly { topic: Topic; value: Buffer }[]) =>
  seen.filter(({ topic }) => topic === TOPICS.imageFailed).map(({ value }) => decodeEvent(value) as EventOf<typeof TOPICS.imageFailed>);

test('an invalid message goes to the dead-letter topic with the reason, and the next one is still handled', async (t) => {
  const { bus, seen } = await harness([TOPICS.deadLetter, TOPICS.imageScanned]);
  t.teardown(() => bus.close());
  await bus.publish(TOPICS.imageUploaded, [{ key: 'junk', value: Buffer.from('{not json') }]);
  await bus.publish(TOPICS.imageUploaded, [{ key: subject.imageId, value: encodeEvent(uploaded) }]);
  const handled: ImageEvent[] = [];
  await start(bus, (event) => {
    handled.push(event);
    return Promise.resolve([scanned]);
  });

  await waitUntil(() => seen.some(({ topic }) => topic === TOPICS.imageScanned), { timeoutMs: 5000, description: 'the output' });
  t.deepEqual(
    handled.map((event) => event.eventId),
    [uploaded.eventId],
  );
  const [letter] = deadLetters(seen);
  t.is(letter?.reason, 'invalid event: not JSON');
  t.is(letter?.value, '{not json');
  t.is(letter?.group, 'stage-under-test');
});

test('a transient failure is retried and, once the handler succeeds, only its outputs are published', async (t) => {
  const { bus, seen } = await harness([TOPICS.deadLetter, TOPICS.imageScanned, TOPICS.imageFailed]);
  t.teardown(() => bus.close());
  let calls = 0;
  await start(bus, () => {
    calls += 1;
    if (calls < 3) throw new DependencyUnavailableError('clamd did not answer');
    return Promise.resolve([scanned]);
  });
  await bus.publish(TOPICS.imageUploaded, [{ key: subject.imageId, value: encodeEvent(uploaded) }]);

  await waitUntil(() => seen.some(({ topic }) => topic === TOPICS.imageScanned), { timeoutMs: 5000, description: 'the output' });
  t.is(calls, 3);
  t.deepEqual(deadLetters(seen), []);
  t.deepEqual(failures(seen), []);
});

test('a server that does not answer is waited for past the retries, and nothing is given up on', async (t) => {
  const { bus, seen } = await harness([TOPICS.deadLetter, TOPICS.imageScanned, TOPICS.imageFailed]);
  t.teardown(() => bus.close());
  const outage = fastRetry.attempts * 4;
  let calls = 0;
  await start(bus, () => {
    calls += 1;
    if (calls <= outage) throw new DependencyUnavailableError('clamd did not answer');
    return Promise.resolve([scanned]);
  });
  await bus.publish(TOPICS.imageUploaded, [{ key: subject.imageId, value: encodeEvent(uploaded) }]);

  await waitUntil(() => seen.some(({ topic }) => topic === TOPICS.imageScanned), { timeoutMs: 10_000, description: 'the output' });
  t.is(calls, outage + 1);
  t.deepEqual(deadLetters(seen), []);
  t.deepEqual(failures(seen), []);
});

test('any other failure that outlasts the retries is dead-lettered and published as image.failed at the stage', async (t) => {
  const { bus, seen } = await harness([TOPICS.deadLetter, TOPICS.imageFailed]);
  t.teardown(() => bus.close());
  let calls = 0;
  await start(bus, () => {
    calls += 1;
    throw new Error('the codec crashed');
  });
  await bus.publish(TOPICS.imageUploaded, [{ key: subject.imageId, value: encodeEvent(uploaded) }]);

  const [failed] = await waitUntil(() => (failures(seen).length > 0 ? failures(seen) : false), {
    timeoutMs: 5000,
    description: 'image.failed',
  });
  t.is(calls, fastRetry.attempts);
  t.like(failed?.payload, { stage: 'scan', reason: 'the codec crashed', permanent: false, attempts: 3 });
  t.is(failed?.imageId, subject.imageId);
  t.is(deadLetters(seen)[0]?.attempts, 3);
});

test('a bad image is given up on at once, as a permanent failure', async (t) => {
  const { bus, seen } = await harness([TOPICS.imageFailed]);
  t.teardown(() => bus.close());
  let calls = 0;
  await start(bus, () => {
    calls += 1;
    throw new UnprocessableImageError('unprocessable_image', 'the image could not be decoded: premature end of JPEG image');
  });
  await bus.publish(TOPICS.imageUploaded, [{ key: subject.imageId, value: encodeEvent(uploaded) }]);

  const [failed] = await waitUntil(() => (failures(seen).length > 0 ? failures(seen) : false), {
    timeoutMs: 5000,
    description: 'image.failed',
  });
  t.is(calls, 1);
  t.like(failed?.payload, { permanent: true, attempts: 1 });
});
