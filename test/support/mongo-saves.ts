/**
 * A second process on a MongoDB catalog store, so the driver's command log can
 * be read: `node --import tsx test/support/mongo-saves.ts URL DATABASE` inserts
 * `img-1`, saves it on version 1, then again on the now stale version 1, finds
 * it by id, and prints the four results as JSON. Run with MONGODB_LOG_COMMAND=debug and
 * MONGODB_LOG_PATH=stderr, the commands it sent are on stderr.
 */
import { z } from 'zod';
import { createMongoCatalogStore } from '../../lib/adapters/mongo-catalog-store.ts';

const [url, database] = process.argv.slice(2);
if (url === undefined || database === undefined) throw new Error('usage: mongo-saves.ts URL DATABASE');
const store = await createMongoCatalogStore({ url, database, timeoutMs: 10_000 });
try {
  const images = await store.collection({ name: 'images', schema: z.object({ id: z.string(), bytes: z.number() }) });
  const inserted = await images.save({ id: 'img-1', bytes: 1 }, null);
  const saved = await images.save({ id: 'img-1', bytes: 2 }, 1);
  const stale = await images.save({ id: 'img-1', bytes: 3 }, 1);
  const found = await images.find({ where: { id: 'img-1' }, limit: 10 });
  process.stdout.write(`${JSON.stringify({ inserted, saved, stale, found, stored: await images.get('img-1') })}\n`);
} finally {
  await store.close();
}
