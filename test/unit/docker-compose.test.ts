import test from 'ava';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { z } from 'zod';
import { loadConfig } from '../../lib/config/index.ts';

// Docker is not available where the tests run, so infra/docker-compose.yml is
// checked here as data: the shape compose reads, then what ProgImage needs of it.

const repositoryRoot = fileURLToPath(new URL('../..', import.meta.url));
const composePath = fileURLToPath(new URL('../../infra/docker-compose.yml', import.meta.url));
const dockerfilePath = fileURLToPath(new URL('../../infra/Dockerfile', import.meta.url));

/** Every ProgImage service, and the command its container runs. */
const SERVICE_COMMANDS: Readonly<Record<string, string>> = {
  ingest: 'node --import tsx ingest/main.ts',
  scan: 'node --import tsx processors/scan/main.ts',
  strip: 'node --import tsx processors/strip/main.ts',
  compress: 'node --import tsx processors/compress/main.ts',
  variants: 'node --import tsx processors/variants/main.ts',
  transform: 'node --import tsx processors/transform/main.ts',
  rescan: 'node --import tsx processors/rescan/main.ts',
  scheduler: 'node --import tsx scheduler/main.ts',
  catalog: 'node --import tsx catalog/main.ts',
};

/** The servers of the stack, and the image each must come from. */
const SERVER_IMAGES: Readonly<Record<string, RegExp>> = {
  mongodb: /^mongo:7(\.\d+)*$/,
  kafka: /^apache\/kafka:\d+\.\d+\.\d+$/,
  minio: /^minio\/minio:RELEASE\.[\dT:-]+Z$/,
  clamav: /^clamav\/clamav:\d+(\.\d+)*$/,
};

// The part of the compose file format this test reads; everything else passes through.
const commandLine = z.union([z.string(), z.array(z.string())]);
const composeSchema = z.looseObject({
  services: z.record(
    z.string(),
    z.looseObject({
      image: z.string().optional(),
      build: z.union([z.string(), z.looseObject({ context: z.string(), dockerfile: z.string().optional() })]).optional(),
      command: commandLine.optional(),
      environment: z
        .union([
          z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]).nullable()),
          z.array(z.string()),
        ])
        .optional(),
      depends_on: z
        .union([
          z.array(z.string()),
          z.record(z.string(), z.looseObject({ condition: z.string().default('service_started') })),
        ])
        .optional(),
      healthcheck: z.looseObject({ test: commandLine.optional(), disable: z.boolean().optional() }).optional(),
      restart: z.string().optional(),
      ports: z.array(z.union([z.string(), z.looseObject({ target: z.number() })])).optional(),
      volumes: z
        .array(z.union([z.string(), z.looseObject({ type: z.string().optional(), source: z.string().optional() })]))
        .optional(),
    }),
  ),
  volumes: z.record(z.string(), z.looseObject({}).nullable()).optional(),
});

type Service = z.infer<typeof composeSchema>['services'][string];

// merge: true resolves the `<<: *anchor` merge keys compose itself understands.
const compose = composeSchema.parse(parse(readFileSync(composePath, 'utf8'), { merge: true }));
const services = new Map(Object.entries(compose.services));
const progImageServices = [...services].filter(([, service]) => service.build !== undefined);

/** `$$`, `${NAME:-default}` / `${NAME-default}` (the default captured), or any other `$` form. */
const INTERPOLATION = /\$(\$|\{[A-Za-z_]\w*:?-([^}]*)\}|\{[^}]*\}?|\w*)/g;

/**
 * A value as compose would see it on a machine that sets nothing: `${VAR:-default}`
 * and `${VAR-default}` become their default, `$$` a literal `$`. A variable
 * without a default would depend on the operator's shell, so it is refused.
 */
function withDefaults(value: string): string {
  return value.replace(INTERPOLATION, (match: string, _body: string, fallback?: string) => {
    if (match === '$$') return '$';
    if (fallback !== undefined) return fallback;
    throw new Error(`${match} in ${JSON.stringify(value)} has no default; write \${NAME:-default}`);
  });
}

/** A service's environment as raw KEY=VALUE pairs, before interpolation. */
function rawEnvironment(name: string, service: Service): Record<string, string> {
  const { environment = {} } = service;
  const entries = Array.isArray(environment)
    ? environment.map((entry) => {
        const equals = entry.indexOf('=');
        return equals === -1 ? ([entry, null] as const) : ([entry.slice(0, equals), entry.slice(equals + 1)] as const);
      })
    : Object.entries(environment);
  return Object.fromEntries(
    entries.map(([key, value]) => {
      if (value === null) throw new Error(`${name}: ${key} has no value; compose would copy it from the shell`);
      return [key, String(value)];
    }),
  );
}

/** A service's environment as the container sees it on a machine that sets nothing. */
function environmentOf(name: string, service: Service): Record<string, string> {
  const raw = Object.entries(rawEnvironment(name, service));
  return Object.fromEntries(raw.map(([key, value]) => [key, withDefaults(value)]));
}

function words(command: string | readonly string[] | undefined): string {
  return typeof command === 'string' ? command.trim().split(/\s+/).join(' ') : (command ?? []).join(' ');
}

function dependenciesOf(service: Service): [string, string][] {
  const { depends_on: dependsOn = [] } = service;
  return Array.isArray(dependsOn)
    ? dependsOn.map((target) => [target, 'service_started'])
    : Object.entries(dependsOn).map(([target, { condition }]) => [target, condition]);
}

/** The named volume a mount uses; undefined for bind mounts and anonymous volumes. */
function namedVolumeOf(volume: NonNullable<Service['volumes']>[number]): string | undefined {
  if (typeof volume !== 'string') return volume.type === 'volume' ? volume.source : undefined;
  const [source = '', target] = volume.split(':');
  return target === undefined || /^[./~$]/.test(source) ? undefined : source;
}

test('there is one container per ProgImage service, each running its own main.ts', (t) => {
  const commands = Object.fromEntries(progImageServices.map(([name, service]) => [name, words(service.command)]));

  t.deepEqual(commands, SERVICE_COMMANDS);
});

test('every ProgImage service is built from infra/Dockerfile with the repository as context', (t) => {
  for (const [name, { build }] of progImageServices) {
    const { context, dockerfile = 'Dockerfile' } =
      typeof build === 'string' ? { context: build } : (build ?? { context: '' });
    const contextPath = path.resolve(path.dirname(composePath), context);

    t.is(contextPath, path.resolve(repositoryRoot), `${name}: build context`);
    t.is(path.resolve(contextPath, dockerfile), dockerfilePath, `${name}: Dockerfile`);
  }
});

test('the image contains the folder of every service the compose file runs, and lib/', (t) => {
  const copied = new Set(
    readFileSync(dockerfilePath, 'utf8')
      .split('\n')
      .flatMap((line) => /^COPY\s+(?!--from)(\S+)/.exec(line.trim())?.[1] ?? []),
  );
  const entryPoints = Object.values(SERVICE_COMMANDS).map((command) => command.split(' ').at(-1) ?? '');
  const folders = new Set(['lib', ...entryPoints.map((entryPoint) => entryPoint.split('/')[0] ?? '')]);

  for (const folder of folders) t.true(copied.has(folder), `infra/Dockerfile copies ${folder}/`);
});

test("every service's entry point exists in the repository", (t) => {
  for (const command of Object.values(SERVICE_COMMANDS)) {
    const entryPoint = command.split(' ').at(-1) ?? '';
    t.true(existsSync(fileURLToPath(new URL(`../../${entryPoint}`, import.meta.url))), entryPoint);
  }
});

test("every ProgImage service's environment passes loadConfig", (t) => {
  t.true(progImageServices.length > 0);
  for (const [name, service] of progImageServices) {
    t.notThrows(() => loadConfig(environmentOf(name, service)), name);
  }
});

test("the stack is distributed: ProgImage services use the stack's servers, never embedded adapters", (t) => {
  for (const [name, service] of progImageServices) {
    const { kafka, s3, mongo, scan } = loadConfig(environmentOf(name, service));

    t.not(kafka, null, `${name}: Kafka`);
    t.not(s3, null, `${name}: S3`);
    t.not(mongo, null, `${name}: MongoDB`);
    t.true(scan.enabled, `${name}: scanning`);
    t.not(scan.clamd, null, `${name}: clamd`);

    const hosts = [
      ...(kafka?.brokers ?? []).map((broker) => broker.slice(0, broker.lastIndexOf(':'))),
      s3?.endpoint.hostname,
      mongo && new URL(mongo.url).hostname,
      scan.clamd?.host,
    ];
    for (const host of hosts) t.true(services.has(host ?? ''), `${name}: ${host ?? '?'} is a service of the stack`);
  }
});

test("MinIO's root credentials come from the same variables as the services' S3 keys", (t) => {
  const minio = rawEnvironment('minio', services.get('minio') ?? {});

  for (const [name, service] of progImageServices) {
    const environment = rawEnvironment(name, service);

    t.is(minio.MINIO_ROOT_USER, environment.PROGIMAGE_S3_ACCESS_KEY, `${name}: access key`);
    t.is(minio.MINIO_ROOT_PASSWORD, environment.PROGIMAGE_S3_SECRET_KEY, `${name}: secret key`);
  }
});

test('the servers run the images of their own projects, pinned', (t) => {
  for (const [name, image] of Object.entries(SERVER_IMAGES)) {
    t.regex(services.get(name)?.image ?? `no ${name} service`, image, name);
  }
});

test('a service starts only once every service it depends on exists and reports healthy', (t) => {
  for (const [name, service] of services) {
    for (const [target, condition] of dependenciesOf(service)) {
      const dependency = services.get(target);

      t.not(dependency, undefined, `${name} depends on ${target}, which is not a service`);
      t.not(dependency?.healthcheck?.test, undefined, `${name} depends on ${target}, which has no healthcheck`);
      t.not(dependency?.healthcheck?.disable, true, `${name} depends on ${target}, whose healthcheck is disabled`);
      t.is(condition, 'service_healthy', `${name} waits for ${target} to be healthy`);
    }
  }
});

test('the services that serve the API (API keys and tenants are in the catalog store) and the scheduler wait for MongoDB', (t) => {
  for (const name of ['ingest', 'catalog', 'scheduler']) {
    const dependencies = new Map(dependenciesOf(services.get(name) ?? {}));
    t.is(dependencies.get('mongodb'), 'service_healthy', name);
  }
});

test('every ProgImage service checks /healthz on the port it listens on, and restarts unless stopped', (t) => {
  for (const [name, service] of progImageServices) {
    const { port } = loadConfig(environmentOf(name, service)).http;

    t.true(words(service.healthcheck?.test).includes(`://127.0.0.1:${port}/healthz`), `${name}: healthcheck`);
    t.is(service.restart, 'unless-stopped', `${name}: restart`);
  }
});

test('the write API (ingest) and the read API (catalog) are published on the port they listen on', (t) => {
  for (const name of ['ingest', 'catalog']) {
    const service = services.get(name) ?? {};
    const { port } = loadConfig(environmentOf(name, service)).http;
    const targets = (service.ports ?? []).map((mapping) =>
      typeof mapping === 'string' ? Number(mapping.replace(/\/\w+$/, '').split(':').at(-1)) : mapping.target,
    );

    t.deepEqual(targets, [port], name);
  }
});

test('every named volume a service mounts is declared', (t) => {
  const declared = new Set(Object.keys(compose.volumes ?? {}));

  for (const [name, { volumes = [] }] of services) {
    for (const volume of volumes) {
      const source = namedVolumeOf(volume);
      if (source !== undefined) t.true(declared.has(source), `${name} mounts volume ${source}, which is not declared`);
    }
  }
});
