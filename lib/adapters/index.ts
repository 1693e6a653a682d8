import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import type { Config, LiveConfig } from '../config/index.ts';
import type { Logger } from '../logger.ts';
import type { BlobStore } from '../ports/blob-store.ts';
import type { CatalogStore } from '../ports/catalog-store.ts';
import type { EventBus } from '../ports/event-bus.ts';
import type { Scanner } from '../ports/scanner.ts';
import { createClamdScanner } from './clamd-scanner.ts';
import { createDisabledScanner } from './disabled-scanner.ts';
import { createEmbeddedCatalogStore } from './embedded-catalog-store.ts';
import { createFolderBlobStore } from './folder-blob-store.ts';
import { createInProcessEventBus } from './in-process-event-bus.ts';
import { createKafkaEventBus } from './kafka-event-bus.ts';
import { createMinioBlobStore } from './minio-blob-store.ts';
import { createMongoCatalogStore } from './mongo-catalog-store.ts';

/**
 * Picks each port's adapter from the configuration: a configured server gets
 * its production adapter, an unconfigured one the embedded adapter under
 * PROGIMAGE_DATA_DIR. This is the only place that knows both.
 */
export const createEventBus = (config: Config, logger: Logger): Promise<EventBus> =>
  config.kafka === null ? createInProcessEventBus(config.dataDir) : createKafkaEventBus(config.kafka, { logger });

export const createBlobStore = (config: Config): Promise<BlobStore> =>
  config.s3 === null ? createFolderBlobStore(join(config.dataDir, 'blobs')) : createMinioBlobStore(config.s3);

export const createCatalogStore = (config: Config): Promise<CatalogStore> =>
  config.mongo === null ? createEmbeddedCatalogStore(config.dataDir) : createMongoCatalogStore(config.mongo);

const scannerFor = ({ enabled, clamd }: Config['scan']): Scanner =>
  enabled && clamd !== null ? createClamdScanner(clamd) : createDisabledScanner();

/** The scanner of the configuration in force: switched on or off, or given another deadline, as the live settings change. */
export function createScanner(live: LiveConfig): Scanner {
  let scanner = scannerFor(live.current().scan);
  live.onChange((config, previous) => {
    if (!isDeepStrictEqual(config.scan, previous.scan)) scanner = scannerFor(config.scan);
  });
  return {
    get enabled() {
      return scanner.enabled;
    },
    scan: (body) => scanner.scan(body),
    checkHealth: () => scanner.checkHealth(),
  };
}
