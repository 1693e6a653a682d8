import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import sharp from 'sharp';
import { createFolderBlobStore } from '../../lib/adapters/folder-blob-store.ts';
import { createInProcessEventBus } from '../../lib/adapters/in-process-event-bus.ts';
import { ConcurrencyLimit } from '../../lib/concurrency.ts';
import { DependencyUnavailableError } from '../../lib/errors.ts';
import { createEvent, decodeEvent, encodeEvent, type EventOf } from '../../lib/events/envelope.ts';
import { TOPICS } from '../../lib/events/topics.ts';
import { startStage } from '../../lib/pipeline/stage.ts';
import type { Scanner } from '../../lib/ports/scanner.ts';
import type { TransformResources } from '../../lib/transform/steps/step.ts';
import { waitUntil } from '../../lib/wait.ts';
import { createTransformStage, reportGivenUpItem } from '../../processors/transform/transform-stage.ts';

const ITEM = '0b7e5c1d-2f3a-4b6c-8d9e-aabbccddee10';
const BATCH = '0b7e5c1d-2f3a-4b6c-8d9e-aabbccddee11';
const OVERLAY = '0b7e5c1d-2f3a-4b6c-8d9e-aabbccddee12';
const MASTER_KEY = `derived/default/${ITEM}/master.png`;

const scanningOff: Scanner = { enabled: false, scan: () => Promise.reject(new Error('not called')), checkHealth: () => Promise.resolve() };
const square = (colour: string) => sharp({ create: { width: 32, height: 32, channels: 4, background: colour } }).png().toBuffer();

/** Overlay sources on a blob store that is down for the first `failures` reads. */
function flakyOverlays(failures: number): TransformResources & { readonly calls: () => number } {
  let calls = 0;
  return {
    calls: () => calls,
    async loadImage() {
      calls += 1;
      if (calls <= failures) throw new DependencyUnavailableError('the blob store did not answer: connect ECONNREFUSED');
      return square('#ff000080');
    },
  };
}

async function stageOn(resources: TransformResources) {
  const blobs = await createFolderBlobStore(mkdtempSync(join(tmpdir(), 'transform-stage-blobs-')));
  await blobs.put(MASTER_KEY, await square('#0000ff'), { contentType: 'image/png' });
  const handle = createTransformStage({
    blobs,
    scanner: scanningOff,
    acceptedFormats: ['png', 'jpeg'],
    maxBytes: () => 10_000_000,
    fetch: { timeoutMs: 1000, maxRedirects: 0, allowedHosts: [] },
    timeoutMs: () => 30_000,
    pixelWork: new ConcurrencyLimit(1),
    resources,
  });
  return { blobs, handle };
}

const requested = createEvent(
  TOPICS.transformRequested,
  { imageId: ITEM, tenant: 'default' },
  { batchId: BATCH, index: 0, source: { image: { id: ITEM, key: MASTER_KEY, format: 'png' } }, transforms: [{ overlay: OVERLAY, format: 'png' }], store: false },
);

test('a batch item whose overlay load meets a down blob store throws a retriable error, and succeeds when tried again', async (t) => {
  const resources = flakyOverlays(1);
  const { handle } = await stageOn(resources);
  const error = await t.throwsAsync(handle(requested), { instanceOf: DependencyUnavailableError });
  t.true(error.retriable);
  const [completed] = await handle(requested);
  t.like(completed?.payload, { batchId: BATCH, index: 0, results: [{ transform: 0, format: 'png', width: 32, height: 32 }] });
  t.is((completed?.payload as { failure?: unknown }).failure, undefined);
  t.is(resources.calls(), 2);
});

test('on the consumer runner, the item is retried after the dependency failure and completes, not failed', async (t) => {
  const bus = await createInProcessEventBus(mkdtempSync(join(tmpdir(), 'transform-stage-bus-')));
  t.teardown(() => bus.close());
  const completions: EventOf<typeof TOPICS.transformCompleted>[] = [];
  await bus.subscribe('watcher', [TOPICS.transformCompleted], (message) => {
    completions.push(decodeEvent(message.value) as EventOf<typeof TOPICS.transformCompleted>);
    return Promise.resolve();
  });
  const resources = flakyOverlays(2);
  const { handle } = await stageOn(resources);
  await startStage(
    { stage: 'transform', input: TOPICS.transformRequested, handle, reportGivenUp: reportGivenUpItem },
    { bus, log: pino({ level: 'silent' }), retry: { attempts: 5, baseDelayMs: 1, maxDelayMs: 5 }, metrics: new Registry() },
  );
  await bus.publish(TOPICS.transformRequested, [{ key: ITEM, value: encodeEvent(requested) }]);
  const [completed] = await waitUntil(() => (completions.length > 0 ? completions : false), { timeoutMs: 10_000, description: 'transform.completed' });
  t.is(resources.calls(), 3, 'two failures, then the load that worked');
  t.is(completed?.payload.failure, undefined);
  t.like(completed?.payload, { results: [{ transform: 0, format: 'png' }] });
});
