import type { AddressInfo } from 'node:net';
import type Router from '@koa/router';
import { LiveConfig, type Config } from '../../lib/config/index.ts';
import type { BlobStore } from '../../lib/ports/blob-store.ts';
import type { CatalogStore } from '../../lib/ports/catalog-store.ts';
import type { EventBus } from '../../lib/ports/event-bus.ts';
import { hostServices, type ServiceFactory } from '../../lib/service/host.ts';
import { ALL_SERVICES } from '../../services.ts';
import { TEST_AUTH_ENV } from './api.ts';

/** ProgImage running inside the test process, on a free port. */
export interface RunningProgImage {
  readonly baseUrl: string;
  readonly config: Config;
  /** The same blob store the services use, to check what is (and is not) stored. */
  readonly blobs: BlobStore;
  /** The services' event bus, to publish what an upstream system would. */
  readonly bus: EventBus;
  /** The services' catalog store, to set up what an operator would (tenants, ingest credentials). */
  readonly catalogStore: () => Promise<CatalogStore>;
  /** The routers the services registered, to compare with the API's documentation. */
  readonly routers: readonly Router[];
  stop(): Promise<void>;
}

/**
 * Runs `services` (every one unless told) in the test process.
 * The orphans job, which takes every blob its catalog does not know for an orphan (a bucket may be
 * shared), stays off unless a test turns it on; so does the signatures job, which would run
 * freshclam and reload the shared clamd.
 */
export async function startProgImage(
  env: Readonly<Record<string, string | undefined>>,
  services: readonly ServiceFactory[] = ALL_SERVICES,
): Promise<RunningProgImage> {
  const live = LiveConfig.open({
    PROGIMAGE_LOG_LEVEL: 'warn',
    PROGIMAGE_SCHEDULE_ORPHANS: 'off',
    PROGIMAGE_SCHEDULE_SIGNATURES: 'off',
    ...TEST_AUTH_ENV,
    ...env,
    PROGIMAGE_HTTP_HOST: '127.0.0.1',
    PROGIMAGE_HTTP_PORT: '0',
  });
  const hosted = await hostServices('test', services, live);
  const { port } = hosted.server.address() as AddressInfo;
  const { blobs, bus, catalogStore } = hosted.dependencies;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    config: live.current(),
    blobs,
    bus,
    catalogStore,
    routers: hosted.routers,
    stop: () => hosted.stop(),
  };
}
