import Router from '@koa/router';
import { createCatalogStore } from '../lib/adapters/index.ts';
import type { ServiceFactory } from '../lib/service/host.ts';
import { batchRoutes } from './batch-routes.ts';
import { openBatchCollections } from './batches-collection.ts';
import { imageRoutes } from './image-routes.ts';
import { openImagesCollection } from './images-collection.ts';
import { startProjector } from './projector.ts';
import { Transformations } from './transformations.ts';

/** The read side: the MongoDB projection of every event, the API that serves images from it, and batches. */
export const catalogService: ServiceFactory = async ({ config, bus, blobs, log, metrics }) => {
  const store = await createCatalogStore(config);
  const images = await openImagesCollection(store);
  const batches = await openBatchCollections(store);
  const projector = await startProjector(bus, images, batches, log.child({ stage: 'catalog' }));
  const transformations = new Transformations({ blobs, metrics, timeoutMs: config.transforms.timeoutMs });
  const routes = new Router();
  const { presets, presetsOnly } = config.transforms;
  routes.use(
    imageRoutes({ images, blobs, transformations, presets, presetsOnly }).routes(),
    batchRoutes({ bus, images, batches, blobs, presets, presetsOnly }).routes(),
  );
  return {
    name: 'catalog',
    routes,
    readiness: { 'catalog-store': () => store.checkHealth() },
    async stop() {
      await projector.stop();
      await store.close();
    },
  };
};
