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

/**
 * Picks each port's adapter from the configuration: a configured server gets
 * its production adapter, an unconfigured one the embedded adapter under
 * PROGIMAGE_DATA_DIR. This is the only place that knows both.
 *
 * A server's adapter is imported only when it is configured: the clients of
 * Kafka, S3 and MongoDB add tens of MB to the resident memory of a process
 * (`npm start` with no configuration) that never talks to them.
 */
export async function createEventBus(config: Config, logger: Logger): Promise<EventBus> {
  if (config.kafka === null) return createInProcessEventBus(config.dataDir);
  const { createKafkaEventBus } = await import('./kafka-event-bus.ts');
  return createKafkaEventBus(config.kafka, { logger });
}

export async function createBlobStore(config: Config): Promise<BlobStore> {
  if (config.s3 === null) return createFolderBlobStore(join(config.dataDir, 'blobs'));
  const { createMinioBlobStore } = await import('./minio-blob-store.ts');
  return createMinioBlobStore(config.s3);
}

export async function createCatalogStore(config: Config): Promise<CatalogStore> {
  if (config.mongo === null) return createEmbeddedCatalogStore(config.dataDir);
  const { createMongoCatalogStore } = await import('./mongo-catalog-store.ts');
  return createMongoCatalogStore(config.mongo);
}

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
