import { availableParallelism } from 'node:os';
import { createServer, STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { setImageLimits } from '../imaging/limits.ts';
import { onStopSignals } from './stop-signals.ts';
import { allowOnlyTrustedDecoders } from '../imaging/trusted-decoders.ts';
import { TransformSlots } from '../transform/transform-slots.ts';
import type Router from '@koa/router';
import Koa from 'koa';
import { createBlobStore, createCatalogStore, createEventBus } from '../adapters/index.ts';
import { admission } from '../http/admission.ts';
import type { Admitted } from '../auth/gatekeeper.ts';
import { ensureDefaultTenant } from '../auth/default-tenant.ts';
import { Gatekeeper } from '../auth/gatekeeper.ts';
import { TenantOrigins } from '../auth/tenant-origins.ts';
import { openTenantCollections } from '../auth/tenants.ts';
import type { CatalogStore } from '../ports/catalog-store.ts';
import { ConfigError, LiveConfig, type Config } from '../config/index.ts';
import { crossOriginSharing, imageBytesCorsHeaders, isImageBytesRequest } from '../http/cors.ts';
import { errorResponses } from '../http/errors.ts';
import { healthRoutes, type ReadinessCheck } from '../http/health.ts';
import { healthPaths } from '../http/health-contract.ts';
import { apiDocumentRoutes } from '../http/api-documents.ts';
import { openApiDocument } from '../http/contract/document.ts';
import type { ZodOpenApiPathsObject } from 'zod-openapi';
import { countTransformSlots, createMetricsRegistry, requestDurations, requestMetrics, type RequestDurations } from '../http/metrics.ts';
import type { ServedFromCache } from '../http/response-cache.ts';
import type { Registry } from 'prom-client';
import { errorMessage } from '../error-message.ts';
import { createLogger, type Logger } from '../logger.ts';
import { meteredBlobStore } from '../metered-blob-store.ts';
import type { BlobStore } from '../ports/blob-store.ts';
import type { EventBus } from '../ports/event-bus.ts';
import { ImageChanges } from './image-changes.ts';
import { ConcurrencyLimit } from '../concurrency.ts';

/** What every service is given: the configuration and the shared ports. */
export interface ServiceDependencies {
  /** The configuration at start; the live settings (PROGIMAGE_CONFIG_FILE) are read from `live` when used. */
  readonly config: Config;
  readonly live: LiveConfig;
  readonly log: Logger;
  readonly bus: EventBus;
  readonly blobs: BlobStore;
  /** The process's metrics, served at /metrics. */
  readonly metrics: Registry;
  /** The catalog store, opened on first use and shared by the process. */
  readonly catalogStore: () => Promise<CatalogStore>;
  /** Transformations made on request in this process, bounded. */
  readonly transformSlots: TransformSlots;
  /** The pipeline stages' pixel work (decode, resize, encode) in this process: one job per CPU at a time. */
  readonly pixelWork: ConcurrencyLimit;
  /** The images whose events were projected in this process. */
  readonly imageChanges: ImageChanges;
}

/**
 * Answers a request for image bytes before the Koa app sees it, adding `headers` (CORS) to its own,
 * or returns null having written nothing.
 */
export type FastPath = (
  request: IncomingMessage,
  response: ServerResponse,
  admitted: Admitted,
  headers: Readonly<Record<string, string>>,
) => ServedFromCache | null;

/** A started service: its HTTP routes (if any), what its readiness depends on, and how to stop it. */
export interface RunningService {
  readonly name: string;
  readonly routes?: Router;
  /** Its routes' contract: the zod schemas they validate with and answer in, by path and method, for the OpenAPI document. */
  readonly contract?: ZodOpenApiPathsObject;
  /** Requests it can answer without the framework (hot cached responses). */
  readonly fastPath?: FastPath;
  readonly readiness?: Readonly<Record<string, ReadinessCheck>>;
  stop(): Promise<void>;
}

export type ServiceFactory = (dependencies: ServiceDependencies) => Promise<RunningService>;

export interface HostedServices {
  readonly server: Server;
  readonly dependencies: ServiceDependencies;
  /** Every router the app serves: the health routes, then each service's. */
  readonly routers: readonly Router[];
  stop(): Promise<void>;
}

/** /healthz, /readyz and /metrics, then the services' routes. */
function routersOf(services: readonly RunningService[], dependencies: ServiceDependencies): Router[] {
  const checks: Record<string, ReadinessCheck> = {
    'event-bus': () => dependencies.bus.checkHealth(),
    'blob-store': () => dependencies.blobs.checkHealth(),
  };
  for (const service of services) Object.assign(checks, service.readiness);
  const contracts = services.flatMap((service) => (service.contract === undefined ? [] : [service.contract]));
  // A process serving API routes serves their document too; a worker answers health and metrics only.
  const documents =
    contracts.length === 0 ? [] : [apiDocumentRoutes(openApiDocument([healthPaths(dependencies.config.auth.publicMetrics), ...contracts]))];
  return [
    healthRoutes(checks, dependencies.metrics),
    ...documents,
    ...services.flatMap((service) => (service.routes === undefined ? [] : [service.routes])),
  ];
}

/** The share of the transformations' memory budget that requests waiting for a turn may hold in stored masters read ahead. */
const READ_AHEAD_SHARE = 8;

const CLIENT_HANG_UPS: ReadonlySet<string> = new Set(['ERR_STREAM_PREMATURE_CLOSE', 'ECONNRESET', 'EPIPE', 'HPE_INVALID_EOF_STATE']);

/** Who may call the API, and from which web pages: both read the tenants of the catalog store. */
interface Access {
  readonly gatekeeper: Gatekeeper;
  readonly tenantOrigins: TenantOrigins;
}

/** Serves the routers on one Koa app, behind the error, metrics, CORS and admission middleware. */
function createApp(routers: readonly Router[], dependencies: ServiceDependencies, durations: RequestDurations, access: Access | null): Koa {
  const app = new Koa();
  app.proxy = true;
  // Errors after the response has started (Koa's default prints a stack). A client that hangs up
  // mid-stream, as proxies and load balancers do at once, is not the service's failure; nor is one
  // that hangs up in the middle of sending its body (HPE_INVALID_EOF_STATE), as an aborted upload does.
  app.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== undefined && CLIENT_HANG_UPS.has(error.code)) {
      dependencies.log.debug({ err: error }, 'client closed the connection before the response ended');
    } else {
      dependencies.log.error({ err: error }, 'response failed');
    }
  });
  app.use(errorResponses(dependencies.log));
  app.use(requestMetrics(durations));
  app.use(
    crossOriginSharing(
      () => dependencies.live.current().cors,
      async (origin) => (await access?.tenantOrigins.someTenantAllows(origin)) ?? false,
    ),
  );
  if (access !== null) {
    const openPaths = new Set(['/healthz', '/readyz', ...(dependencies.config.auth.publicMetrics ? ['/metrics'] : [])]);
    app.use(admission(access.gatekeeper, openPaths));
  }
  for (const router of routers) app.use(router.routes()).use(router.allowedMethods());
  return app;
}

/**
 * The services' fast paths first, for image bytes the gatekeeper can admit from memory (with the CORS
 * headers the Koa app would send them); then the Koa app.
 */
function requestHandler(
  services: readonly RunningService[],
  app: Koa,
  durations: RequestDurations,
  gatekeeper: Gatekeeper | null,
  live: LiveConfig,
) {
  const fastPaths = services.flatMap((service) => (service.fastPath === undefined ? [] : [service.fastPath]));
  const callback = app.callback();
  return (request: IncomingMessage, response: ServerResponse): void => {
    const started = performance.now();
    const { method = '', url = '', headers } = request;
    const forImageBytes = fastPaths.length > 0 && isImageBytesRequest(method, url.split('?', 1)[0] ?? '');
    const admitted = forImageBytes ? gatekeeper?.admitFromMemory({ method, url, authorization: headers.authorization }) : undefined;
    if (admitted !== undefined) {
      const crossOrigin = imageBytesCorsHeaders(live.current().cors.imageOrigins, headers.origin);
      for (const fastPath of fastPaths) {
        const served = fastPath(request, response, admitted, crossOrigin);
        if (served === null) continue;
        const seconds = (performance.now() - started) / 1000;
        durations.observe({ method, route: served.route, status: String(served.status) }, seconds);
        return;
      }
    }
    void callback(request, response);
  };
}

/** A request Node's parser refused before any route saw it, answered in JSON like every other error. */
function refuseMalformedRequest(error: NodeJS.ErrnoException, socket: Duplex): void {
  if (!socket.writable) return;
  const [status, code, message] =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'headers_too_large', 'the request headers are too large']
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'request_timeout', 'the request was not received in time']
        : [400, 'malformed_request', 'the request is not valid HTTP/1.1'];
  const body = JSON.stringify({ error: { code, message } });
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nContent-Type: application/json; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

function listen(handler: (request: IncomingMessage, response: ServerResponse) => void, config: Config): Promise<Server> {
  const { headersTimeoutMs, requestTimeoutMs } = config.limits;
  return new Promise((resolve, reject) => {
    // Slow clients cannot hold a connection open: the timeouts are checked every second, not every 30 s.
    const server = createServer(
      { headersTimeout: headersTimeoutMs, requestTimeout: requestTimeoutMs, connectionsCheckingInterval: 1000 },
      handler,
    );
    server.on('clientError', refuseMalformedRequest);
    server.listen(config.http.port, config.http.host, () => {
      resolve(server);
    });
    server.once('error', reject);
  });
}

/** Who may call the API: tenants and keys from the catalog store, which starts with a default tenant. */
async function openAccess({ config, log, catalogStore }: ServiceDependencies): Promise<Access> {
  const collections = await openTenantCollections(await catalogStore());
  await ensureDefaultTenant(collections, config.auth.bootstrapApiKey, log);
  return {
    gatekeeper: new Gatekeeper(collections, config.auth.cacheMs),
    tenantOrigins: new TenantOrigins(collections, config.auth.cacheMs),
  };
}

/**
 * Starts services in one process on shared adapters: one service per process
 * in production (each folder's main.ts), all of them for `npm start`. With a
 * LiveConfig, its file is watched while they run.
 */
export async function hostServices(
  name: string,
  factories: readonly ServiceFactory[],
  settings: Config | LiveConfig,
  logger?: Logger,
): Promise<HostedServices> {
  const live = settings instanceof LiveConfig ? settings : LiveConfig.fixed(settings);
  const config = live.current();
  const log = logger ?? createLogger(name, config.logLevel);
  // Each process names itself to the brokers, so their logs and quotas tell services apart.
  const busConfig =
    config.kafka === null ? config : { ...config, kafka: { ...config.kafka, clientId: `${config.kafka.clientId}-${name}` } };
  const bus = await createEventBus(busConfig, log);
  const metrics = createMetricsRegistry(name);
  const blobs = meteredBlobStore(await createBlobStore(config), metrics);
  let catalog: Promise<CatalogStore> | undefined;
  const catalogStore = (): Promise<CatalogStore> => (catalog ??= createCatalogStore(config));
  const applyImageLimits = ({ limits }: Config): void => {
    setImageLimits({ maxInputPixels: limits.maxInputPixels, maxFrames: limits.maxFrames });
  };
  applyImageLimits(config);
  live.onChange(applyImageLimits);
  allowOnlyTrustedDecoders(config.uploads.acceptedFormats);
  const { concurrentTransforms, queuedTransforms, heavyTransformCost, maxTransformCost, transformMemoryBytes } = config.limits;
  const transformSlots = new TransformSlots({
    concurrency: concurrentTransforms,
    queueLength: queuedTransforms,
    heavyCost: heavyTransformCost,
    budget: { maxCpuMs: maxTransformCost, maxMemoryBytes: transformMemoryBytes },
    readAheadBytes: Math.floor(transformMemoryBytes / READ_AHEAD_SHARE),
  });
  countTransformSlots(transformSlots, metrics);
  const dependencies: ServiceDependencies = {
    config,
    live,
    log,
    bus,
    blobs,
    metrics,
    catalogStore,
    transformSlots,
    pixelWork: new ConcurrencyLimit(availableParallelism()),
    imageChanges: new ImageChanges(),
  };
  const services: RunningService[] = [];
  for (const factory of factories) services.push(await factory(dependencies));
  const access =
    services.some((service) => service.routes !== undefined) || !config.auth.publicMetrics ? await openAccess(dependencies) : null;
  const durations = requestDurations(dependencies.metrics);
  const routers = routersOf(services, dependencies);
  const app = createApp(routers, dependencies, durations, access);
  const server = await listen(requestHandler(services, app, durations, access?.gatekeeper ?? null, live), config);
  live.watch(log);
  log.info({ address: server.address(), services: services.map((service) => service.name) }, 'listening');
  return {
    server,
    dependencies,
    routers,
    async stop() {
      live.stop();
      await new Promise<void>((resolve) =>
        server.close(() => {
          resolve();
        }),
      );
      for (const service of [...services].reverse()) await service.stop();
      if (catalog !== undefined) await (await catalog).close();
      await bus.close();
    },
  };
}

/**
 * The body of every main.ts: configuration from the environment and its
 * configuration file (a bad one stops the process with its message), then the
 * services, stopped cleanly on SIGTERM/SIGINT.
 */
export async function runMain(name: string, factories: readonly ServiceFactory[]): Promise<void> {
  let live: LiveConfig;
  try {
    live = LiveConfig.open();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    process.exit(78); // EX_CONFIG
  }
  const log = createLogger(name, live.current().logLevel);
  let hosted: HostedServices;
  try {
    hosted = await hostServices(name, factories, live, log);
  } catch (error) {
    // One line an operator can act on (a held store, a port in use, a server that does not answer); the stack at debug level.
    log.debug({ err: error }, 'could not start');
    console.error(`${name} could not start: ${errorMessage(error)}`);
    process.exit(1);
  }
  let stopping = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (stopping) {
      log.info({ signal }, 'already stopping');
      return;
    }
    stopping = true;
    log.info({ signal }, 'stopping');
    hosted.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        log.error({ err: error }, 'unclean stop');
        process.exit(1);
      },
    );
  };
  onStopSignals(shutdown);
}
