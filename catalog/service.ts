import { createCatalogStore } from '../lib/adapters/index.ts';
import type { ServiceFactory } from '../lib/service/host.ts';
import { imageRoutes } from './image-routes.ts';
import { openImagesCollection } from './images-collection.ts';
import { startProjector } from './projector.ts';
import { Transformations } from './transformations.ts';

/** The read side: the MongoDB projection of every event, and the API that serves images from it. */
export const catalogService: ServiceFactory = async ({ config, bus, blobs, log, metrics }) => {
  const store = await createCatalogStore(config);
  const images = await openImagesCollection(store);
  const projector = await startProjector(bus, images, log.child({ stage: 'catalog' }));
  return {
    name: 'catalog',
    routes: imageRoutes({ images, blobs, transformations: new Transformations({ blobs, metrics, timeoutMs: config.transforms.timeoutMs }) }),
    readiness: { 'catalog-store': () => store.checkHealth() },
    async stop() {
      await projector.stop();
      await store.close();
    },
  };
};
