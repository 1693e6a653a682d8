import type { DocumentCollection, Identified } from './ports/catalog-store.ts';

const MAX_CONFLICTS = 20;

/**
 * Read, change, compare-and-set: retried when another writer (another
 * replica, a concurrent request) saved first. `change` returns null for
 * "nothing to do". Resolves to the document as it now is.
 */
export async function updateDocument<T extends Identified>(
  collection: DocumentCollection<T>,
  id: string,
  change: (current: T | null) => T | null,
): Promise<T | null> {
  for (let attempt = 0; attempt < MAX_CONFLICTS; attempt += 1) {
    const current = await collection.get(id);
    const next = change(current?.document ?? null);
    if (next === null) return current?.document ?? null;
    if ((await collection.save(next, current?.version ?? null)) !== null) return next;
  }
  throw new Error(`document ${id} kept changing under ${MAX_CONFLICTS} attempts to update it`);
}
