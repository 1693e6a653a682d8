import { Counter, type Registry } from 'prom-client';
import { sharedMetric } from './metrics.ts';
import type { BlobStore } from './ports/blob-store.ts';

/** The blob store, counting the bytes written by the first segment of their key (originals, derived, batches …). */
export function meteredBlobStore(blobs: BlobStore, registry: Registry): BlobStore {
  const written = sharedMetric(
    registry,
    'progimage_blob_bytes_written_total',
    (registers) =>
      new Counter({
        name: 'progimage_blob_bytes_written_total',
        help: 'Bytes stored in the blob store by this process, by key prefix',
        labelNames: ['prefix'] as const,
        registers,
      }),
  );
  const put: BlobStore['put'] = async (key, body, options) => {
    const info = await blobs.put(key, body, options);
    written.inc({ prefix: key.slice(0, Math.max(0, key.indexOf('/'))) }, body.length);
    return info;
  };
  return new Proxy(blobs, {
    get: (target, property) => {
      if (property === 'put') return put;
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}
