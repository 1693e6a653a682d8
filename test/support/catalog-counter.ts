/**
 * A second process on an embedded catalog store: `node --import tsx
 * test/support/catalog-counter.ts DATA_DIR NAME TIMES` adds one to the shared
 * document `counter` TIMES times by compare-and-set (re-reading when another
 * writer got there first), inserts `NAME-<n>` after each, and prints how many
 * of its saves lost a race.
 */
import { z } from 'zod';
import { createEmbeddedCatalogStore } from '../../lib/adapters/embedded-catalog-store.ts';
import type { DocumentCollection } from '../../lib/ports/catalog-store.ts';

export const counterSchema = z.object({ id: z.string(), count: z.number().int(), writer: z.string() });
export type Counted = z.infer<typeof counterSchema>;
export const counters = { name: 'counters', schema: counterSchema, indexes: [['writer']] } as const;

/** Adds one to `counter` and inserts a document of its own, `times` times; resolves to the number of lost races. */
export async function count(collection: DocumentCollection<Counted>, writer: string, times: number): Promise<number> {
  let lost = 0;
  for (let done = 0; done < times;) {
    const current = await collection.get('counter');
    const saved =
      current === null
        ? await collection.save({ id: 'counter', count: 1, writer }, null)
        : await collection.save({ ...current.document, count: current.document.count + 1, writer }, current.version);
    if (saved === null) {
      lost += 1;
      continue;
    }
    done += 1;
    await collection.save({ id: `${writer}-${String(done).padStart(4, '0')}`, count: done, writer }, null);
    // Yield, so that the other process gets its turns in between.
    await new Promise((resolve) => setImmediate(resolve));
  }
  return lost;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [dataDir = '', writer = '', times = '0'] = process.argv.slice(2);
  const store = await createEmbeddedCatalogStore(dataDir);
  const lost = await count(await store.collection(counters), writer, Number(times));
  await store.close();
  console.log(JSON.stringify({ lost }));
}
