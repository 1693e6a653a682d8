import test from 'ava';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { parse } from 'yaml';
import { z } from 'zod';
import { goTool } from '../../infra/local/go-tools.ts';
import { loadConfig } from '../../lib/config/index.ts';

// Docker is not available where the tests run. infra/docker-compose.yml is
// loaded by compose-go, the loader Docker Compose itself is built on
// (infra/compose-check), with the variables of infra/.env.example: it checks
// the file against the compose-spec schema and prints the model Compose would
// run, which these tests read. The Prometheus files are loaded by Prometheus's
// own code (infra/prometheus-check), and every metric an alert or a dashboard
// panel reads must be one the services register.

const execFileAsync = promisify(execFile);
const repositoryRoot = fileURLToPath(new URL('../..', import.meta.url));
const inRepository = (relative: string): string => path.join(repositoryRoot, relative);
const composePath = inRepository('infra/docker-compose.yml');
const envExamplePath = inRepository('infra/.env.example');
const dockerfilePath = inRepository('infra/Dockerfile');
const adminWrapperPath = inRepository('infra/progimage-admin');
const nodeWrapperPath = inRepository('infra/progimage-node');
const prometheusConfigPath = inRepository('infra/prometheus/prometheus.yml');
const alertsPath = inRepository('infra/prometheus/alerts.yml');
const dashboardPath = inRepository('infra/grafana/dashboards/progimage.json');

/** Every ProgImage process, and the command its container runs. */
const SERVICE_COMMANDS: Readonly<Record<string, string>> = {
  api: 'progimage-node api/main.ts',
  ingest: 'progimage-node ingest/main.ts',
  scan: 'progimage-node processors/scan/main.ts',
  strip: 'progimage-node processors/strip/main.ts',
  compress: 'progimage-node processors/compress/main.ts',
  variants: 'progimage-node processors/variants/main.ts',
  transform: 'progimage-node processors/transform/main.ts',
  rescan: 'progimage-node processors/rescan/main.ts',
  catalog: 'progimage-node catalog/main.ts',
  scheduler: 'progimage-node scheduler/main.ts',
  webhooks: 'progimage-node webhooks/main.ts',
};
const WORKERS = Object.keys(SERVICE_COMMANDS).filter((name) => name !== 'api');

/** The servers of the stack, and the image each must come from. */
const SERVER_IMAGES: Readonly<Record<string, RegExp>> = {
  mongodb: /^mongo:7(\.\d+)*$/,
  kafka: /^apache\/kafka:\d+\.\d+\.\d+$/,
  minio: /^minio\/minio:RELEASE\.[\dT:-]+Z$/,
  clamav: /^clamav\/clamav:\d+(\.\d+)*$/,
};
const MONITORING = ['prometheus', 'grafana'];

/** Variables with no default: Compose must refuse to start without them. */
const SECRETS = ['PROGIMAGE_S3_SECRET_KEY', 'PROGIMAGE_ADMIN_TOKEN', 'PROGIMAGE_GRAFANA_ADMIN_PASSWORD'];

// The normalized model `docker compose config --format json` prints; what these tests read of it.
const portSchema = z.object({ target: z.number(), published: z.string().optional(), host_ip: z.string().optional() });
const serviceSchema = z.object({
  image: z.string().optional(),
  build: z.object({ context: z.string(), dockerfile: z.string() }).optional(),
  command: z.array(z.string()).nullable().optional(),
  environment: z.record(z.string(), z.string().nullable()).optional(),
  depends_on: z.record(z.string(), z.object({ condition: z.string() })).optional(),
  healthcheck: z.object({ test: z.array(z.string()).optional(), disable: z.boolean().optional() }).optional(),
  restart: z.string().optional(),
  ports: z.array(portSchema).optional(),
  volumes: z
    .array(z.object({ type: z.string(), source: z.string().optional(), target: z.string(), read_only: z.boolean().optional() }))
    .optional(),
  container_name: z.string().optional(),
});
const modelSchema = z.object({ services: z.record(z.string(), serviceSchema) });
type Service = z.infer<typeof serviceSchema>;
type Model = z.infer<typeof modelSchema>;

/** NAME=VALUE lines of an env file, in order; comments and blank lines left out. */
function envFileEntries(text: string): [string, string][] {
  return text
    .split('\n')
    .filter((line) => /^[A-Za-z_]\w*=/.test(line))
    .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]);
}

const envExample = new Map(envFileEntries(readFileSync(envExamplePath, 'utf8')));

/** What an operator's infra/.env holds: .env.example with its secrets made, then `changes`. */
function operatorEnv(changes: Readonly<Record<string, string>> = {}): Map<string, string> {
  const made = {
    PROGIMAGE_S3_SECRET_KEY: randomBytes(24).toString('hex'),
    PROGIMAGE_ADMIN_TOKEN: randomBytes(24).toString('hex'),
    PROGIMAGE_GRAFANA_ADMIN_PASSWORD: randomBytes(16).toString('hex'),
  };
  return new Map([...envExample, ...Object.entries(made), ...Object.entries(changes)]);
}

class ComposeRefused extends Error {}

/** The model Compose would run with these variables as infra/.env, after compose-go has checked the file. */
async function composeModel(env: ReadonlyMap<string, string>): Promise<Model> {
  const directory = mkdtempSync(path.join(tmpdir(), 'progimage-compose-'));
  const envFile = path.join(directory, '.env');
  writeFileSync(envFile, [...env].map(([name, value]) => `${name}=${value}\n`).join(''));
  try {
    const { stdout } = await execFileAsync(await goTool('compose-check'), ['--env-file', envFile, composePath], {
      maxBuffer: 16 * 1024 * 1024,
    });
    return modelSchema.parse(JSON.parse(stdout));
  } catch (error) {
    const { stderr } = z.object({ stderr: z.string() }).safeParse(error).data ?? { stderr: String(error) };
    throw new ComposeRefused(stderr.trim());
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

function serviceOf(model: Model, name: string): Service {
  const service = model.services[name];
  if (service === undefined) throw new Error(`no service ${name} in infra/docker-compose.yml`);
  return service;
}

const environmentOf = (service: Service): Record<string, string> =>
  Object.fromEntries(Object.entries(service.environment ?? {}).map(([key, value]) => [key, value ?? '']));

const configOf = (model: Model, name: string) => loadConfig(environmentOf(serviceOf(model, name)));

const dependenciesOf = (service: Service): Record<string, string> =>
  Object.fromEntries(Object.entries(service.depends_on ?? {}).map(([target, { condition }]) => [target, condition]));

/** "host_ip:published->target", as `docker compose ps` shows a published port. */
const publishedPorts = (service: Service): string[] =>
  (service.ports ?? []).map(({ host_ip: hostIp, published, target }) => `${hostIp ?? ''}:${published ?? ''}->${target}`);

const env = operatorEnv();
const model = await composeModel(env);

test('compose-go loads the file with the variables of .env.example and its secrets made, and runs every service', (t) => {
  t.deepEqual(Object.keys(model.services).sort(), [...Object.keys(SERVICE_COMMANDS), ...Object.keys(SERVER_IMAGES), ...MONITORING].sort());
});

test('without one of its secrets Compose refuses to start, naming it; .env.example gives none of them a value', async (t) => {
  for (const secret of SECRETS) {
    t.is(envExample.get(secret), '', `.env.example leaves ${secret} empty`);
    const refused = await t.throwsAsync(composeModel(operatorEnv({ [secret]: '' })), { instanceOf: ComposeRefused }, secret);
    t.regex(refused.message, new RegExp(`required variable ${secret} is missing a value`), secret);
  }
});

test('.env.example describes every variable the compose file reads, and no other', (t) => {
  const read = new Set([...readFileSync(composePath, 'utf8').matchAll(/\$\{([A-Za-z_]\w*)/g)].map(([, name]) => name));
  // COMPOSE_PROFILES is read by Compose itself.
  t.deepEqual([...envExample.keys()].filter((name) => name !== 'COMPOSE_PROFILES').sort(), [...read].sort());
});

test('there is one container per ProgImage process, each running its own main.ts, built from infra/Dockerfile', (t) => {
  const built = Object.entries(model.services).filter(([, service]) => service.build !== undefined);

  t.deepEqual(Object.fromEntries(built.map(([name, service]) => [name, (service.command ?? []).join(' ')])), SERVICE_COMMANDS);
  for (const [name, { build }] of built) {
    t.is(path.resolve(build?.context ?? ''), path.resolve(repositoryRoot), `${name}: build context`);
    t.is(path.resolve(build?.context ?? '', build?.dockerfile ?? ''), dockerfilePath, `${name}: Dockerfile`);
  }
});

test('the servers run the images of their own projects, pinned', (t) => {
  for (const [name, image] of Object.entries(SERVER_IMAGES)) t.regex(serviceOf(model, name).image ?? '', image, name);
});

/** The repository files `entryPoint` imports, directly or not (relative imports). */
function importClosure(entryPoint: string): Set<string> {
  const files = new Set<string>();
  const pending = [entryPoint];
  for (let file = pending.pop(); file !== undefined; file = pending.pop()) {
    if (files.has(file)) continue;
    files.add(file);
    const source = readFileSync(inRepository(file), 'utf8');
    for (const [, specifier = ''] of source.matchAll(/(?:\bfrom|\bimport)\s*\(?\s*'(\.\.?\/[^']+)'/g)) {
      pending.push(path.posix.normalize(path.posix.join(path.posix.dirname(file), specifier)));
    }
  }
  return files;
}

/** What the final stage of infra/Dockerfile copies from the build context: source → destination. */
function copiedIntoImage(): Map<string, string> {
  const lines = readFileSync(dockerfilePath, 'utf8').split('\n');
  const finalStage = lines.slice(lines.findLastIndex((line) => line.startsWith('FROM ')));
  const copied = new Map<string, string>();
  for (const line of finalStage.filter((text) => text.startsWith('COPY ') && !text.includes('--from='))) {
    const words = line
      .split(/\s+/)
      .slice(1)
      .filter((word) => !word.startsWith('--'));
    const destination = words.pop() ?? '';
    for (const source of words) {
      const target = destination.endsWith('/') ? path.posix.join(destination, path.posix.basename(source)) : destination;
      copied.set(source, path.posix.resolve('/app', target));
    }
  }
  return copied;
}

test('the image holds every file the processes and the admin command import, where the command expects it', (t) => {
  const copied = copiedIntoImage();
  const entryPoints = [...Object.values(SERVICE_COMMANDS).map((command) => command.split(' ').at(-1) ?? ''), 'admin/cli.ts'];

  for (const entryPoint of entryPoints) {
    t.true(existsSync(inRepository(entryPoint)), `${entryPoint} exists`);
    for (const file of [...importClosure(entryPoint), 'package.json', 'tsconfig.json']) {
      const source = [...copied.keys()].find((copiedPath) => file === copiedPath || file.startsWith(`${copiedPath}/`));
      t.not(source, undefined, `infra/Dockerfile copies ${file} (imported by ${entryPoint})`);
      if (source !== undefined) t.is(copied.get(source), path.posix.join('/app', source), `${source} lands in /app/${source}`);
    }
  }
});

test('progimage-node is on the PATH of the image and runs a script with tsx, two malloc arenas, a young generation fixed at 8 MB and an old generation that may double', async (t) => {
  t.is(copiedIntoImage().get('infra/progimage-node'), '/usr/local/bin/progimage-node');
  t.regex(readFileSync(dockerfilePath, 'utf8'), /^COPY --chmod=755 infra\/progimage-node /m);

  // What the script sees: tsx (it imports TypeScript), the arenas, and the young generation's
  // size before anything grew it (1 MB a semispace if V8 were left to size it).
  const script = [
    "const { DISTRIBUTED_ROLES } = await import('./infra/local/distributed-layout.ts');",
    "const newSpace = (await import('node:v8')).getHeapSpaceStatistics().find((space) => space.space_name === 'new_space');",
    'console.log(JSON.stringify({ typeScript: Array.isArray(DISTRIBUTED_ROLES), arenas: process.env.MALLOC_ARENA_MAX, newSpaceMb: newSpace.space_size / 2 ** 20, v8Flags: process.execArgv.filter((flag) => flag.startsWith("--heap-")) }));',
  ].join('\n');
  const run = async (env: Record<string, string>) =>
    JSON.parse(
      (
        await execFileAsync(nodeWrapperPath, ['--input-type=module', '-e', script], {
          cwd: repositoryRoot,
          env: { PATH: process.env.PATH ?? '', ...env },
        })
      ).stdout,
    ) as unknown;
  t.deepEqual(await run({}), { typeScript: true, arenas: '2', newSpaceMb: 8, v8Flags: ['--heap-growing-percent=100'] });
  t.like(await run({ MALLOC_ARENA_MAX: '4' }), { arenas: '4' }, "an operator's own MALLOC_ARENA_MAX wins");
  t.not(statSync(nodeWrapperPath).mode & 0o111, 0, 'executable in the repository too');
});

test('progimage-admin is on the PATH of the image and runs the admin command in /app against the API of its container', async (t) => {
  t.is(copiedIntoImage().get('infra/progimage-admin'), '/usr/local/bin/progimage-admin');
  t.regex(readFileSync(dockerfilePath, 'utf8'), /^COPY --chmod=755 infra\/progimage-admin /m);

  // Run it with `cd /app` leading to a folder whose `node` prints where it runs and its arguments.
  const fakeApp = mkdtempSync(path.join(tmpdir(), 'progimage-app-'));
  try {
    writeFileSync(path.join(fakeApp, 'node'), '#!/bin/sh\nprintf "%s\\n" "$PWD" "$@"\n', { mode: 0o755 });
    const script = `cd() { [ "$1" = /app ] && command cd "${fakeApp}"; }; . "${adminWrapperPath}"`;
    const { stdout } = await execFileAsync('sh', ['-c', script, 'progimage-admin', 'tenant', 'create', 'acme'], {
      env: { PATH: `${fakeApp}:/usr/bin:/bin`, PROGIMAGE_HTTP_PORT: configOf(model, 'api').http.port.toString() },
    });
    t.deepEqual(stdout.trim().split('\n'), [
      fakeApp,
      '--import',
      'tsx',
      'admin/cli.ts',
      '--url',
      'http://127.0.0.1:8080',
      'tenant',
      'create',
      'acme',
    ]);
  } finally {
    rmSync(fakeApp, { recursive: true, force: true });
  }
  t.not(statSync(adminWrapperPath).mode & 0o111, 0, 'executable in the repository too');
});

test("every ProgImage service's environment passes loadConfig", (t) => {
  for (const name of Object.keys(SERVICE_COMMANDS)) t.notThrows(() => configOf(model, name), name);
});

test("the stack is distributed: ProgImage services use the stack's servers, never embedded adapters", (t) => {
  for (const name of Object.keys(SERVICE_COMMANDS)) {
    const { kafka, s3, mongo, scan } = configOf(model, name);

    t.not(kafka, null, `${name}: Kafka`);
    t.not(s3, null, `${name}: S3`);
    t.not(mongo, null, `${name}: MongoDB`);
    t.true(scan.enabled, `${name}: scanning`);

    const hosts = [
      ...(kafka?.brokers ?? []).map((broker) => broker.slice(0, broker.lastIndexOf(':'))),
      s3?.endpoint.hostname,
      mongo && new URL(mongo.url).hostname,
      scan.clamd?.host,
    ];
    for (const host of hosts) t.not(model.services[host ?? ''], undefined, `${name}: ${host ?? '?'} is a service of the stack`);
  }
});

test("MinIO's root credentials are the services' S3 keys, both from .env", (t) => {
  const minio = environmentOf(serviceOf(model, 'minio'));

  for (const name of Object.keys(SERVICE_COMMANDS)) {
    const { s3 } = configOf(model, name);
    t.is(s3?.accessKey, env.get('PROGIMAGE_S3_ACCESS_KEY'), `${name}: access key`);
    t.is(s3?.secretKey, env.get('PROGIMAGE_S3_SECRET_KEY'), `${name}: secret key`);
  }
  t.is(minio.MINIO_ROOT_USER, env.get('PROGIMAGE_S3_ACCESS_KEY'));
  t.is(minio.MINIO_ROOT_PASSWORD, env.get('PROGIMAGE_S3_SECRET_KEY'));
});

test('the api gets the bootstrap key and the admin token from .env; no worker holds either', async (t) => {
  const bootstrapApiKey = `pik_${randomBytes(24).toString('hex')}`;
  const withKey = await composeModel(new Map([...env, ['PROGIMAGE_BOOTSTRAP_API_KEY', bootstrapApiKey]]));

  t.like(configOf(withKey, 'api').auth, { bootstrapApiKey, adminToken: env.get('PROGIMAGE_ADMIN_TOKEN') });
  t.is(configOf(model, 'api').auth.bootstrapApiKey, null, 'empty in .env: the key of a new store is printed once instead');
  for (const name of WORKERS) {
    t.like(configOf(withKey, name).auth, { bootstrapApiKey: null, adminToken: null }, name);
  }
});

test('only the API is published on every interface; Kafka and MinIO for upstream systems, Prometheus and Grafana on loopback', (t) => {
  const published = Object.fromEntries(Object.entries(model.services).map(([name, service]) => [name, publishedPorts(service)]));

  t.deepEqual(published, {
    api: [`:8080->${configOf(model, 'api').http.port}`],
    kafka: ['127.0.0.1:19092->19092'],
    minio: ['127.0.0.1:9000->9000'],
    prometheus: ['127.0.0.1:9090->9090'],
    grafana: ['127.0.0.1:3000->3000'],
    ...Object.fromEntries([...WORKERS, 'mongodb', 'clamav'].map((name) => [name, []])),
  });
});

test('the published ports and the upstream address follow .env', async (t) => {
  const moved = await composeModel(
    new Map([
      ...env,
      ['PROGIMAGE_HTTP_PUBLISHED_PORT', '18080'],
      ['PROGIMAGE_UPSTREAM_BIND_ADDRESS', '0.0.0.0'],
      ['PROGIMAGE_KAFKA_EXTERNAL_PORT', '29092'],
      ['PROGIMAGE_S3_PUBLISHED_PORT', '19000'],
      ['PROGIMAGE_PROMETHEUS_PUBLISHED_PORT', '19090'],
      ['PROGIMAGE_GRAFANA_PUBLISHED_PORT', '13000'],
    ]),
  );

  t.deepEqual(publishedPorts(serviceOf(moved, 'api')), [':18080->8080']);
  t.deepEqual(publishedPorts(serviceOf(moved, 'kafka')), ['0.0.0.0:29092->19092']);
  t.deepEqual(publishedPorts(serviceOf(moved, 'minio')), ['0.0.0.0:19000->9000']);
  t.deepEqual(publishedPorts(serviceOf(moved, 'prometheus')), ['127.0.0.1:19090->9090'], 'monitoring stays on loopback');
  t.deepEqual(publishedPorts(serviceOf(moved, 'grafana')), ['127.0.0.1:13000->3000']);
});

test('Kafka advertises its external listener at the host and port upstream systems connect to', async (t) => {
  const kafkaOf = async (changes: Record<string, string>) =>
    environmentOf(serviceOf(await composeModel(new Map([...env, ...Object.entries(changes)])), 'kafka'));
  const kafka = environmentOf(serviceOf(model, 'kafka'));
  const listenerPort = (listeners: string | undefined, name: string) =>
    /:(\d+)$/.exec(listeners?.split(',').find((listener) => listener.startsWith(`${name}://`)) ?? '')?.[1];

  t.is(
    listenerPort(kafka.KAFKA_LISTENERS, 'EXTERNAL'),
    String(serviceOf(model, 'kafka').ports?.[0]?.target),
    'the published port is the EXTERNAL listener',
  );
  t.regex(kafka.KAFKA_LISTENER_SECURITY_PROTOCOL_MAP ?? '', /(^|,)EXTERNAL:PLAINTEXT(,|$)/);
  t.regex(kafka.KAFKA_ADVERTISED_LISTENERS ?? '', /(^|,)PLAINTEXT:\/\/kafka:9092(,|$)/, 'the services reach it by its service name');
  t.regex(kafka.KAFKA_ADVERTISED_LISTENERS ?? '', /(^|,)EXTERNAL:\/\/localhost:19092(,|$)/);
  const moved = await kafkaOf({ PROGIMAGE_KAFKA_EXTERNAL_HOST: 'kafka.example.internal', PROGIMAGE_KAFKA_EXTERNAL_PORT: '29092' });
  t.regex(moved.KAFKA_ADVERTISED_LISTENERS ?? '', /(^|,)EXTERNAL:\/\/kafka\.example\.internal:29092(,|$)/);
});

test('the api scales: no fixed container name, and a range of host ports gives each copy its own', async (t) => {
  const scaled = await composeModel(new Map([...env, ['PROGIMAGE_HTTP_PUBLISHED_PORT', '8080-8083']]));

  t.deepEqual(publishedPorts(serviceOf(scaled, 'api')), [':8080-8083->8080']);
  for (const [name, service] of Object.entries(model.services)) t.is(service.container_name, undefined, name);
});

test('a service starts only once every service it depends on exists and reports healthy', (t) => {
  for (const [name, service] of Object.entries(model.services)) {
    for (const [target, condition] of Object.entries(dependenciesOf(service))) {
      const dependency = model.services[target];

      t.not(dependency?.healthcheck?.test, undefined, `${name} depends on ${target}, which has a healthcheck`);
      t.not(dependency?.healthcheck?.disable, true, `${name} depends on ${target}, whose healthcheck is on`);
      t.is(condition, 'service_healthy', `${name} waits for ${target} to be healthy`);
    }
  }
});

test('start order: servers, then the api (its log has the one-time key), then the workers; the API does not wait for ClamAV', (t) => {
  const waitsFor = (name: string) => Object.keys(dependenciesOf(serviceOf(model, name))).sort();

  t.deepEqual(waitsFor('api'), ['kafka', 'minio', 'mongodb'], 'uploads are taken while ClamAV loads its signatures');
  for (const name of WORKERS)
    t.true(
      ['api', 'kafka', 'minio'].every((server) => waitsFor(name).includes(server)),
      `${name} waits for the api, Kafka and MinIO`,
    );
  for (const name of ['scan', 'transform', 'rescan', 'scheduler']) t.true(waitsFor(name).includes('clamav'), `${name} waits for ClamAV`);
  for (const name of ['catalog', 'scheduler', 'webhooks']) t.true(waitsFor(name).includes('mongodb'), `${name} waits for MongoDB`);
  t.deepEqual(waitsFor('grafana'), ['prometheus']);
});

test('every service has a healthcheck; each ProgImage service checks /healthz on the port it listens on and restarts unless stopped', (t) => {
  for (const [name, service] of Object.entries(model.services))
    t.true((service.healthcheck?.test ?? []).length > 1, `${name}: healthcheck`);
  for (const name of Object.keys(SERVICE_COMMANDS)) {
    const service = serviceOf(model, name);
    t.true(
      (service.healthcheck?.test ?? []).join(' ').includes(`://127.0.0.1:${configOf(model, name).http.port}/healthz`),
      `${name}: /healthz`,
    );
    t.is(service.restart, 'unless-stopped', `${name}: restart`);
  }
});

test('Prometheus and Grafana run under the "monitoring" profile, which .env.example turns on', async (t) => {
  t.is(envExample.get('COMPOSE_PROFILES'), 'monitoring');
  const withoutMonitoring = await composeModel(new Map([...env, ['COMPOSE_PROFILES', '']]));
  t.deepEqual(
    Object.keys(withoutMonitoring.services).sort(),
    Object.keys(model.services)
      .filter((name) => !MONITORING.includes(name))
      .sort(),
  );
});

// ---- Prometheus and Grafana -------------------------------------------------

/** The series the services export: what the code registers (lib/, the services' folders) and prom-client's default metrics. */
async function exportedSeries(): Promise<Set<string>> {
  const seriesOf = (name: string, type: string): string[] =>
    type === 'histogram'
      ? [`${name}_bucket`, `${name}_sum`, `${name}_count`]
      : type === 'summary'
        ? [name, `${name}_sum`, `${name}_count`]
        : [name];
  const registered = ['lib', 'api', 'admin', 'ingest', 'catalog', 'processors', 'scheduler', 'webhooks'].flatMap((folder) =>
    readdirSync(inRepository(folder), { recursive: true, encoding: 'utf8' })
      .filter((file) => file.endsWith('.ts'))
      .flatMap((file) => [
        ...readFileSync(inRepository(path.join(folder, file)), 'utf8').matchAll(
          /new (Counter|Gauge|Histogram|Summary)(?:<[^>]*>)?\(\{\s*name: '(\w+)'/g,
        ),
      ])
      .flatMap(([, type = '', name = '']) => seriesOf(name, type.toLowerCase())),
  );
  const defaults = new Registry();
  collectDefaultMetrics({ register: defaults });
  const defaultSeries = (await defaults.getMetricsAsJSON()).flatMap(({ name, type }) => seriesOf(name, String(type)));
  return new Set([...registered, ...defaultSeries]);
}

/** Prometheus's own series of every scrape target. */
const SCRAPE_SERIES = ['up'];

const checkedExprSchema = z.object({ expr: z.string(), metrics: z.array(z.string()) });

async function prometheusCheck(args: readonly string[], input?: string): Promise<string> {
  const tool = await goTool('prometheus-check');
  return new Promise((resolve, reject) => {
    const child = execFile(tool, args, { maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error === null) resolve(stdout);
      else reject(new Error(`prometheus-check ${args.join(' ')}: ${stderr.trim()}`));
    });
    child.stdin?.end(input ?? '');
  });
}

function mountOf(service: Service, source: string): string | undefined {
  return service.volumes?.find((volume) => volume.type === 'bind' && path.resolve(volume.source ?? '') === inRepository(source))?.target;
}

test("Prometheus loads its configuration (promtool's checks) and finds every copy of every ProgImage service", async (t) => {
  const config = z
    .object({
      rule_files: z.array(z.string()),
      scrape_configs: z.array(
        z.object({
          job_name: z.string(),
          metrics_path: z.string(),
          dns_sd_configs: z.array(z.object({ names: z.array(z.string()), type: z.string(), port: z.number() })).default([]),
        }),
      ),
    })
    .parse(parse(await prometheusCheck(['config', prometheusConfigPath])));

  const [progimage] = config.scrape_configs;
  const targets = (progimage?.dns_sd_configs ?? []).flatMap(({ names, type, port }) =>
    names.map((name) => `${type} ${name}:${port}${progimage?.metrics_path ?? ''}`),
  );
  t.deepEqual(
    targets.sort(),
    Object.keys(SERVICE_COMMANDS)
      .map((name) => `A ${name}:${configOf(model, name).http.port}/metrics`)
      .sort(),
  );
  t.deepEqual(
    config.rule_files.map((file) => path.resolve(file)),
    [alertsPath],
  );

  const prometheus = serviceOf(model, 'prometheus');
  const configFlag = (prometheus.command ?? []).find((argument) => argument.startsWith('--config.file='));
  t.is(configFlag, `--config.file=${path.posix.join(mountOf(prometheus, 'infra/prometheus') ?? '?', 'prometheus.yml')}`);
});

test('the Prometheus image is the version whose code checks the files', (t) => {
  const goMod = readFileSync(inRepository('infra/prometheus-check/go.mod'), 'utf8');
  const [, minor = '', patch = ''] = /github\.com\/prometheus\/prometheus v0\.(\d+)\.(\d+)/.exec(goMod) ?? [];
  // Prometheus v3.X.Y is the Go module version v0.3XX.Y.
  t.is(serviceOf(model, 'prometheus').image, `prom/prometheus:v3.${Number(minor) - 300}.${patch}`);
});

test('the alert rules load, cover a stalled pipeline, a failing scanner and stale signatures, and read only exported metrics', async (t) => {
  const rules = z
    .array(
      checkedExprSchema.extend({
        alert: z.string().optional(),
        labels: z.record(z.string(), z.string()).nullable(),
        annotations: z.record(z.string(), z.string()).nullable(),
      }),
    )
    .parse(JSON.parse(await prometheusCheck(['rules', alertsPath])));
  const exported = await exportedSeries();
  const alerts = new Map(rules.map((rule) => [rule.alert ?? '', rule]));

  for (const name of [
    'ProgImagePipelineStalled',
    'ProgImageConsumerLagging',
    'ProgImageScannerUnreachable',
    'ProgImageScanFailing',
    'ProgImageSignaturesStale',
    'ProgImageServiceDown',
  ]) {
    t.true(alerts.has(name), name);
  }
  for (const rule of rules) {
    const unknown = rule.metrics.filter((metric) => !exported.has(metric) && !SCRAPE_SERIES.includes(metric));
    t.deepEqual(unknown, [], `${rule.alert ?? '?'} reads only metrics the services export`);
    t.regex(rule.labels?.severity ?? '', /^(critical|warning)$/, `${rule.alert ?? '?'}: severity`);
    t.truthy(rule.annotations?.summary, `${rule.alert ?? '?'}: summary`);
  }
});

const panelSchema = z.object({
  title: z.string(),
  type: z.string(),
  datasource: z.object({ type: z.string(), uid: z.string() }).optional(),
  targets: z.array(z.object({ expr: z.string(), datasource: z.object({ uid: z.string() }) })).default([]),
});
const dashboard = z.object({ uid: z.string(), panels: z.array(panelSchema) }).parse(JSON.parse(readFileSync(dashboardPath, 'utf8')));
const grafanaDatasources = z
  .object({ datasources: z.array(z.object({ uid: z.string(), type: z.string(), url: z.string() })) })
  .parse(parse(readFileSync(inRepository('infra/grafana/provisioning/datasources/prometheus.yml'), 'utf8')));
const grafanaDashboards = z
  .object({ providers: z.array(z.object({ type: z.literal('file'), options: z.object({ path: z.string() }) })) })
  .parse(parse(readFileSync(inRepository('infra/grafana/provisioning/dashboards/progimage.yml'), 'utf8')));

test("Grafana is provisioned with the stack's Prometheus and the ProgImage dashboard", (t) => {
  const grafana = serviceOf(model, 'grafana');
  const [datasource] = grafanaDatasources.datasources;
  const prometheusUrl = new URL(datasource?.url ?? 'http://?');

  t.is(datasource?.type, 'prometheus');
  t.not(model.services[prometheusUrl.hostname], undefined, `${prometheusUrl.hostname} is a service of the stack`);
  t.deepEqual(
    serviceOf(model, prometheusUrl.hostname).ports?.map(({ target }) => String(target)),
    [prometheusUrl.port],
  );
  t.is(mountOf(grafana, 'infra/grafana/provisioning'), '/etc/grafana/provisioning');
  t.deepEqual(
    grafanaDashboards.providers.map(({ options }) => options.path),
    [mountOf(grafana, 'infra/grafana/dashboards')],
  );
  t.is(environmentOf(grafana).GF_SECURITY_ADMIN_PASSWORD, env.get('PROGIMAGE_GRAFANA_ADMIN_PASSWORD'));
});

test('every panel of the dashboard queries the provisioned Prometheus, and each query parses and reads only exported metrics', async (t) => {
  const uid = grafanaDatasources.datasources[0]?.uid ?? 'none provisioned';
  const queries = dashboard.panels.filter((panel) => panel.type !== 'row');
  t.true(queries.length > 0);

  // Grafana replaces its interval variables before the query reaches Prometheus.
  const exprs = queries.flatMap((panel) =>
    panel.targets.map((target) => target.expr.replaceAll(/\$__(rate_interval|interval|range)\b/g, '5m')),
  );
  const checked = z.array(checkedExprSchema).parse(JSON.parse(await prometheusCheck(['exprs'], JSON.stringify(exprs))));
  const exported = await exportedSeries();

  for (const panel of queries) {
    t.true(panel.targets.length > 0, `${panel.title}: has a query`);
    t.is(panel.datasource?.uid, uid, `${panel.title}: datasource`);
    for (const target of panel.targets) t.is(target.datasource.uid, uid, `${panel.title}: query datasource`);
  }
  for (const { expr, metrics } of checked) {
    t.deepEqual(
      metrics.filter((metric) => !exported.has(metric) && !SCRAPE_SERIES.includes(metric)),
      [],
      expr,
    );
  }
});
