import test from 'ava';
import sharp from 'sharp';
import { DependencyUnavailableError } from '../../lib/errors.ts';
import { createEvent } from '../../lib/events/envelope.ts';
import { TOPICS } from '../../lib/events/topics.ts';
import type { Scanner } from '../../lib/ports/scanner.ts';
import { canonicalise, storedTransformKey } from '../../lib/transform/canonical.ts';
import { parseOptions } from '../../lib/transform/options.ts';
import type { TransformResources } from '../../lib/transform/steps/step.ts';
import { transformStage } from '../../processors/transform/service.ts';
import { createTransformStage, type TransformStageDependencies } from '../../processors/transform/transform-stage.ts';
import { readFixture } from '../support/fixtures.ts';
import { emptyBlobStore, onePixelJob, onlyEvent, startStageOnBus, storeContents, withoutIdentity } from '../support/stage-harness.ts';

// transform.requested → transform.completed: one batch item, every transformation of its batch, outputs stored
// when the batch asks; an item that cannot succeed completes as failed, only server trouble is retried.

const ITEM = '0b7e5c1d-2f3a-4b6c-8d9e-aabbccddee10';
const BATCH = '0b7e5c1d-2f3a-4b6c-8d9e-aabbccddee11';
const OVERLAY = '0b7e5c1d-2f3a-4b6c-8d9e-aabbccddee12';
const MASTER_KEY = `derived/default/${ITEM}/master.png`;

const scanningOff: Scanner = { enabled: false, scan: () => Promise.reject(new Error('not called')), checkHealth: () => Promise.resolve() };
const square = (colour: string) =>
  sharp({ create: { width: 32, height: 32, channels: 4, background: colour } })
    .png()
    .toBuffer();

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

/** The dependencies of a transform stage with the blue square as the item's stored master. */
async function dependenciesWith(resources: TransformResources, timeoutMs = 30_000): Promise<TransformStageDependencies> {
  const blobs = await emptyBlobStore();
  await blobs.put(MASTER_KEY, await square('#0000ff'), { contentType: 'image/png' });
  return {
    blobs,
    scanner: scanningOff,
    acceptedFormats: ['png', 'jpeg'],
    maxBytes: () => 10_000_000,
    fetch: { timeoutMs: 1000, maxRedirects: 0, allowedHosts: [] },
    timeoutMs: () => timeoutMs,
    pixelWork: onePixelJob(),
    resources,
  };
}

async function stageOn(resources: TransformResources) {
  const dependencies = await dependenciesWith(resources);
  return { blobs: dependencies.blobs, handle: createTransformStage(dependencies) };
}

const requested = createEvent(
  TOPICS.transformRequested,
  { imageId: ITEM, tenant: 'default' },
  {
    batchId: BATCH,
    index: 0,
    source: { image: { id: ITEM, key: MASTER_KEY, format: 'png' } },
    transforms: [{ overlay: OVERLAY, format: 'png' }],
    store: false,
  },
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

test('on the runner, the item is retried after the dependency failure and completes, not failed', async (t) => {
  const resources = flakyOverlays(2);
  const stage = await startStageOnBus(t, transformStage(await dependenciesWith(resources)));
  await stage.publish(requested);
  const [completed] = await stage.events(TOPICS.transformCompleted);
  t.is(resources.calls(), 3, 'two failures, then the load that worked');
  t.is(completed?.payload.failure, undefined);
  t.like(completed?.payload, { results: [{ transform: 0, format: 'png' }] });
});

const NO_RESOURCES: TransformResources = { loadImage: () => Promise.reject(new Error('no other image is read')) };

const item = (transforms: Record<string, unknown>[], store: boolean, key = MASTER_KEY) =>
  createEvent(
    TOPICS.transformRequested,
    { imageId: ITEM, tenant: 'default' },
    { batchId: BATCH, index: 3, source: { image: { id: ITEM, key, format: 'png' } }, transforms, store },
  );

test("a stored image's outputs, when the batch stores them, go where GET /v1/images/ID.EXT?… would put them", async (t) => {
  const { blobs, handle } = await stageOn(NO_RESOURCES);
  const transforms = [
    { width: 16, format: 'webp' },
    { width: 8, height: 4, fit: 'fill', format: 'jpeg' },
  ];
  const completed = onlyEvent(await handle(item(transforms, true)), TOPICS.transformCompleted);

  const keys = transforms.map((raw) => {
    const options = parseOptions(raw);
    return storedTransformKey({ tenant: 'default', imageId: ITEM }, canonicalise(options, options.format ?? 'png'));
  });
  t.like(completed, { imageId: ITEM, payload: { batchId: BATCH, index: 3 } });
  t.like(completed.payload.results, [
    { transform: 0, format: 'webp', width: 16, height: 16, key: keys[0] },
    { transform: 1, format: 'jpeg', width: 8, height: 4, key: keys[1] },
  ]);
  t.is(completed.payload.failure, undefined);
  for (const result of completed.payload.results) {
    const stored = await blobs.get(result.key ?? '');
    t.is(result.bytes, stored.length);
    t.like(await sharp(stored).metadata(), { format: result.format, width: result.width, height: result.height });
  }
  t.deepEqual(Object.keys(await storeContents(blobs)).sort(), [MASTER_KEY, ...keys].sort());
});

test('a batch that does not store its outputs writes nothing: results without keys', async (t) => {
  const { blobs, handle } = await stageOn(NO_RESOURCES);
  const before = await storeContents(blobs);
  const completed = onlyEvent(await handle(item([{ width: 10, format: 'png' }], false)), TOPICS.transformCompleted);
  t.deepEqual(completed.payload.results, [
    { transform: 0, format: 'png', width: 10, height: 10, bytes: completed.payload.results[0]?.bytes ?? -1 },
  ]);
  t.deepEqual(await storeContents(blobs), before);
});

test('an item that cannot succeed completes as failed with the code of its error, and is not thrown: an undecodable image, an impossible option, a missing master', async (t) => {
  const { blobs, handle } = await stageOn(NO_RESOURCES);
  await blobs.put('derived/default/broken/master.png', await readFixture('truncated.png'), { contentType: 'image/png' });
  const failureOf = async (event: ReturnType<typeof item>) => onlyEvent(await handle(event), TOPICS.transformCompleted).payload;

  t.like(await failureOf(item([{ width: 10 }], false, 'derived/default/broken/master.png')), {
    results: [],
    failure: { code: 'unprocessable_image' },
  });
  t.like(await failureOf(item([{ width: -3 }], false)), { results: [], failure: { code: 'invalid_transform' } });
  const missing = await failureOf(item([{ width: 10 }], false, 'derived/default/missing/master.png'));
  t.deepEqual(missing.results, []);
  t.regex(missing.failure?.reason ?? '', /no blob at derived\/default\/missing/);
});

test('redelivered: the same outputs under the same keys, byte for byte, and the same event', async (t) => {
  const { blobs, handle } = await stageOn(NO_RESOURCES);
  const event = item([{ width: 16, format: 'webp' }], true);
  const first = await handle(event);
  const afterFirst = await storeContents(blobs);
  const second = await handle(event);
  t.deepEqual(withoutIdentity(second), withoutIdentity(first));
  t.deepEqual(await storeContents(blobs), afterFirst);
});

test('on the runner: an item still past its deadline after the retries completes as failed (gave_up): a batch always finishes', async (t) => {
  const stage = await startStageOnBus(t, transformStage(await dependenciesWith(NO_RESOURCES, 0)));
  await stage.publish(item([{ width: 10, format: 'png' }], false));
  const [completed] = await stage.events(TOPICS.transformCompleted);
  t.like(completed?.payload, { batchId: BATCH, index: 3, results: [], failure: { code: 'gave_up' } });
  t.regex(completed?.payload.failure?.reason ?? '', /deadline/);
  t.like((await stage.deadLetters())[0], { group: 'progimage-transform', attempts: 3 });
});
