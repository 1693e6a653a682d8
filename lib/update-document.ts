import type { DocumentCollection, Identified, Versioned } from './ports/catalog-store.ts';

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
  return (await updateVersioned(collection, id, change))?.document ?? null;
}

/**
 * updateDocument, resolving to the document as it now is with its version
 * (null: there is none). `known`, the document as this process last saved or
 * read it (null: believed not to exist yet), stands in for the first read: if
 * it is no longer current, the compare-and-set (or the insert) fails and the
 * document is read again.
 */
export async function updateVersioned<T extends Identified>(
  collection: DocumentCollection<T>,
  id: string,
  change: (current: T | null) => T | null,
  known?: Versioned<T> | null,
): Promise<Versioned<T> | null> {
  for (let attempt = 0; attempt < MAX_CONFLICTS; attempt += 1) {
    const current = attempt === 0 && known !== undefined ? known : await collection.get(id);
    const next = change(current?.document ?? null);
    if (next === null) return current;
    const version = await collection.save(next, current?.version ?? null);
    if (version !== null) return { document: next, version };
  }
  throw new Error(`document ${id} kept changing under ${MAX_CONFLICTS} attempts to update it`);
}
