import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { createEmbeddedCatalogStore } from '../../lib/adapters/embedded-catalog-store.ts';
import type { CatalogStore, DocumentCollection, Identified } from '../../lib/ports/catalog-store.ts';

/** An embedded catalog store in a folder of the test's own, closed and removed when the test ends. */
export async function temporaryCatalogStore(t: ExecutionContext): Promise<CatalogStore> {
  const dataDir = await mkdtemp(join(tmpdir(), 'progimage-catalog-'));
  t.teardown(() => rm(dataDir, { recursive: true, force: true }));
  const store = await createEmbeddedCatalogStore(dataDir);
  t.teardown(() => store.close());
  return store;
}

/** `stored` with its reads (`get`) and writes (`save`) of one document counted; everything else is `stored`'s own. */
export function countingCalls<T extends Identified>(
  stored: DocumentCollection<T>,
): { collection: DocumentCollection<T>; calls: { get: number; save: number } } {
  const calls = { get: 0, save: 0 };
  const counted: Partial<DocumentCollection<T>> = {
    get: (id) => {
      calls.get += 1;
      return stored.get(id);
    },
    save: (document, expectedVersion) => {
      calls.save += 1;
      return stored.save(document, expectedVersion);
    },
  };
  const collection = new Proxy(stored, {
    get(target, property) {
      if (property === 'get' || property === 'save') return counted[property];
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { collection, calls };
}
