import { blobKeys } from '../../lib/blob-keys.ts';
import type { ConcurrencyLimit } from '../../lib/concurrency.ts';
import { createEvent, type EventOf, type ImageEvent } from '../../lib/events/envelope.ts';
import type { ImageFormat, TransformResult } from '../../lib/events/payloads.ts';
import { TOPICS } from '../../lib/events/topics.ts';
import { DomainError, isRetriable } from '../../lib/errors.ts';
import { identifyImage } from '../../lib/imaging/identify-image.ts';
import { CONTENT_TYPES, masterFormat } from '../../lib/imaging/formats.ts';
import type { GivenUpReporter } from '../../lib/pipeline/consumer.ts';
import type { BlobStore } from '../../lib/ports/blob-store.ts';
import type { Scanner } from '../../lib/ports/scanner.ts';
import { fetchImages, type RemoteImageLimits } from '../../lib/remote/fetch-images.ts';
import { assertNotInfected } from '../../lib/scanning.ts';
import { canonicalise, storedTransformKey } from '../../lib/transform/canonical.ts';
import { parseOptions } from '../../lib/transform/options.ts';
import { runTransform, type TransformSource } from '../../lib/transform/run-transform.ts';
import { noOtherImages, type TransformResources } from '../../lib/transform/steps/step.ts';

export interface TransformStageDependencies extends RemoteImageLimits {
  readonly blobs: BlobStore;
  readonly scanner: Scanner;
  readonly acceptedFormats: readonly ImageFormat[];
  readonly timeoutMs: () => number;
  /** Bounds the process's pixel work; a transformation's deadline starts once it has its place. */
  readonly pixelWork: ConcurrencyLimit;
  /** Other stored images the transformations read (masks, overlays); none by default, as batches refuse them when created. */
  readonly resources?: TransformResources;
}

type Requested = EventOf<typeof TOPICS.transformRequested>;

/** Batch items work on one image each: masks and overlays of other stored images are for GET requests. */
const NO_OTHER_IMAGES = noOtherImages('masks and overlays of other images are not available in batches');

/** The item's image: a stored master (it passed its scan), or a URL's bytes, identified and scanned here first. */
async function sourceOf(event: Requested, dependencies: TransformStageDependencies): Promise<TransformSource> {
  const { source } = event.payload;
  if ('image' in source) return { bytes: await dependencies.blobs.get(source.image.key), format: source.image.format, upright: true };
  const [fetched] = await fetchImages([source.url], dependencies);
  if (fetched === undefined) throw new Error('one URL, one image');
  const image = await identifyImage(fetched.bytes, dependencies.acceptedFormats);
  await assertNotInfected(dependencies.scanner, fetched.bytes);
  return { bytes: fetched.bytes, format: image.format, upright: false };
}

const completed = (event: Requested, outcome: { results: TransformResult[]; failure?: { code: string; reason: string } }) =>
  createEvent(TOPICS.transformCompleted, event, { batchId: event.payload.batchId, index: event.payload.index, ...outcome });

/**
 * transform.requested → transform.completed: one batch item, every
 * transformation of its batch, outputs stored when the batch asks. A stored
 * image's outputs go where GET /v1/images/ID.EXT?… would put them, so later
 * requests are served from the store. An item that cannot succeed (a bad
 * URL, an infected or broken image, an impossible option) completes as
 * failed; only server trouble is retried: a `retriable` error (a server
 * down, the deadline passed), wherever it happened.
 */
export function createTransformStage(dependencies: TransformStageDependencies) {
  return async (event: Requested): Promise<readonly ImageEvent[]> => {
    const { batchId, index, source, transforms, store } = event.payload;
    try {
      const input = await sourceOf(event, dependencies);
      const results: TransformResult[] = [];
      for (const [number, raw] of transforms.entries()) {
        const options = parseOptions(raw);
        const transform = canonicalise(options, options.format ?? masterFormat(input.format));
        const made = await dependencies.pixelWork.run(() =>
          runTransform(input, transform, {
            resources: dependencies.resources ?? NO_OTHER_IMAGES,
            deadline: Date.now() + dependencies.timeoutMs(),
          }),
        );
        const key = !store
          ? undefined
          : 'image' in source
            ? storedTransformKey({ tenant: event.tenant, imageId: source.image.id }, transform)
            : blobKeys.batchOutput({ tenant: event.tenant, batchId, index, transform: number }, made.format);
        if (key !== undefined) await dependencies.blobs.put(key, made.data, { contentType: CONTENT_TYPES[made.format] });
        results.push({
          transform: number,
          format: made.format,
          width: made.width,
          height: made.height,
          bytes: made.data.length,
          ...(key === undefined ? {} : { key }),
        });
      }
      return [completed(event, { results })];
    } catch (error) {
      if (isRetriable(error)) throw error;
      const code = error instanceof DomainError ? error.code : 'unprocessable_image';
      return [completed(event, { results: [], failure: { code, reason: error instanceof Error ? error.message : String(error) } })];
    }
  };
}

/** Server trouble that outlasted the retries still completes the item, as failed: a batch always finishes. */
export const reportGivenUpItem: GivenUpReporter = (event, givenUp) =>
  event.type === TOPICS.transformRequested ? [completed(event, { results: [], failure: { code: 'gave_up', reason: givenUp.reason } })] : [];
