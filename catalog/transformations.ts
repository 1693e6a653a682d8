import { Counter, Histogram, type Registry } from 'prom-client';
import type { OutputFormat } from '../lib/events/payloads.ts';
import { CONTENT_TYPES } from '../lib/imaging/formats.ts';
import { storedTransformKey, type CanonicalTransform } from '../lib/transform/canonical.ts';
import { estimateTransform } from '../lib/transform/cost.ts';
import { runTransform } from '../lib/transform/run-transform.ts';
import type { TransformSlots } from '../lib/transform/transform-slots.ts';
import type { TransformResources } from '../lib/transform/steps/step.ts';
import type { Servable } from './image-access.ts';
import type { MasterCache } from './master-cache.ts';
import { ownerOf, type ServableBlob, type StoredOnce } from './stored-once.ts';

export interface TransformationsOptions {
  readonly masters: MasterCache;
  readonly stored: StoredOnce;
  readonly metrics: Registry;
  readonly timeoutMs: () => number;
  readonly slots: TransformSlots;
}

/**
 * Transformations of stored images: made on first request from the master
 * (not the compressed master: that one is slower to decode, and a generation
 * further from the original), stored under a key derived from the image and
 * the canonical form, served from the store afterwards. Concurrent identical
 * first requests share one transformation.
 */
export class Transformations {
  readonly #made: Counter<'format'>;
  readonly #duration: Histogram<'format'>;

  constructor(private readonly options: TransformationsOptions) {
    this.#made = new Counter({
      name: 'progimage_transforms_total',
      help: 'Transformations of stored images made (cache misses), by output format',
      labelNames: ['format'] as const,
      registers: [options.metrics],
    });
    this.#duration = new Histogram({
      name: 'progimage_transform_duration_seconds',
      help: 'Time to make one transformation of a stored image, by output format',
      labelNames: ['format'] as const,
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [options.metrics],
    });
  }

  /** `resources` reads the other stored images the transformation names (mask, overlay), for the same tenant. */
  async get(image: Servable, transform: CanonicalTransform, resources: TransformResources): Promise<ServableBlob> {
    const { masters } = this.options;
    const { master } = image;
    const owner = ownerOf(image);
    const key = storedTransformKey(owner, transform);
    const deadline = Date.now() + this.options.timeoutMs();
    return this.options.stored.get(key, owner, async () => {
      const format: OutputFormat = transform.format;
      const size = { width: master.width, height: master.height };
      const stopTimer = this.#duration.startTimer({ format });
      const made = await this.options.slots.runLoaded(
        { tenant: image.tenant, estimate: estimateTransform(size, transform), deadline },
        { bytes: master.bytes, read: () => masters.read(master.key) },
        (bytes) => runTransform({ bytes, format: master.format, upright: true, size }, transform, { resources, deadline }),
      );
      stopTimer();
      this.#made.inc({ format });
      return { data: made.data, contentType: CONTENT_TYPES[format] };
    });
  }
}
