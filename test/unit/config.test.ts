import { availableParallelism } from 'node:os';
import test, { type ExecutionContext } from 'ava';
import { ConfigError, loadConfig, type Config } from '../../lib/config/index.ts';
import { DEFAULT_PRESETS, parsePresets } from '@progimage/transform-language/schema';

type Environment = Record<string, string>;

/** Loads an environment that must be rejected and returns the ConfigError's problems, one line per variable. */
function problemsOf(t: ExecutionContext, env: Environment): readonly string[] {
  return t.throws(() => loadConfig(env), { instanceOf: ConfigError }).problems;
}

/** The URLs as text, so that two configurations compare by value (URL objects have no enumerable fields). */
function comparable(config: Config) {
  const { scheduler } = config;
  return {
    ...config,
    s3: config.s3 && { ...config.s3, endpoint: config.s3.endpoint.href },
    scheduler: { ...scheduler, freshclam: { ...scheduler.freshclam, mirror: scheduler.freshclam.mirror?.href ?? null } },
  };
}

const servers: Environment = {
  PROGIMAGE_KAFKA_BROKERS: 'kafka-1:9092, kafka-2:9092 ,kafka-3:9092',
  PROGIMAGE_S3_ENDPOINT: 'http://minio:9000',
  PROGIMAGE_S3_ACCESS_KEY: 'progimage',
  PROGIMAGE_S3_SECRET_KEY: 'progimage-secret',
  PROGIMAGE_MONGODB_URL: 'mongodb://mongodb:27017',
  PROGIMAGE_CLAMD_HOST: 'clamav',
};

test('with an empty environment every server is embedded, HTTP listens on 8080 and uploads are unscanned', (t) => {
  t.deepEqual(loadConfig({}), {
    http: { host: '0.0.0.0', port: 8080, responseCacheMs: 1000 },
    cors: { imageOrigins: '*', apiOrigins: [] },
    logLevel: 'info',
    dataDir: './data',
    configFile: null,
    fetch: { timeoutMs: 15_000, maxRedirects: 5, allowedHosts: [] },
    transforms: { timeoutMs: 30_000, presets: parsePresets(DEFAULT_PRESETS), presetsOnly: false },
    auth: { bootstrapApiKey: null, cacheMs: 5000, publicMetrics: true, adminToken: null },
    limits: {
      maxInputPixels: 100_000_000,
      maxFrames: 500,
      headersTimeoutMs: 20_000,
      requestTimeoutMs: 120_000,
      concurrentTransforms: 2 * availableParallelism(),
      queuedTransforms: 64,
      heavyTransformCost: 1000,
      maxTransformCost: 20_000,
      transformMemoryBytes: 768 * 1024 * 1024,
    },
    uploads: {
      maxBytes: 50 * 1024 * 1024,
      acceptedFormats: ['jpeg', 'png', 'webp', 'gif', 'avif', 'heif', 'tiff', 'svg'],
      defaultTtlSeconds: null,
      ingestMaxAgeSeconds: 3600,
    },
    kafka: null,
    s3: null,
    mongo: null,
    scan: { enabled: false, clamd: null },
    scheduler: {
      schedules: {
        signatures: '0 */3 * * *',
        rescan: '30 2 * * *',
        expiry: '*/10 * * * *',
        orphans: '45 3 * * *',
        duplicates: '15 4 * * *',
      },
      leaseMs: 60_000,
      signaturesMaxAgeHours: 48,
      freshclam: { enabled: true, mirror: null, timeoutMs: 600_000, databaseDir: '/var/lib/clamav' },
      rescanPerSecond: 20,
      orphanGraceSeconds: 86_400,
    },
    stats: { flushEveryMs: 10_000, flushAfterHits: 10_000 },
    pipeline: { consumerConcurrency: availableParallelism() },
    backlog: { sampleMs: 5000, degradedSeconds: 600 },
    webhooks: {
      timeoutMs: 10_000,
      concurrency: 16,
      retryScheduleMs: [5000, 300_000, 1_800_000, 7_200_000, 18_000_000, 28_800_000, 28_800_000],
      disableAfterMs: 86_400_000,
      disableAfterFailures: null,
      pollMs: 1000,
    },
  });
});

test("other programs' environment variables are ignored", (t) => {
  const config = loadConfig({ PATH: '/usr/bin', KAFKA_BROKERS: 'not a broker list', HTTP_PORT: 'not a port' });

  t.deepEqual(config, loadConfig({}));
});

test('a full server configuration parses into the nested Config', (t) => {
  const config = loadConfig({
    ...servers,
    PROGIMAGE_HTTP_HOST: '127.0.0.1',
    PROGIMAGE_HTTP_PORT: '9000',
    PROGIMAGE_LOG_LEVEL: 'debug',
    PROGIMAGE_DATA_DIR: '/var/lib/progimage',
    PROGIMAGE_MAX_UPLOAD_BYTES: '1048576',
    PROGIMAGE_ACCEPTED_FORMATS: 'JPEG, png',
    PROGIMAGE_TRANSFORM_TIMEOUT_MS: '12000',
    PROGIMAGE_RESPONSE_CACHE_MS: '0',
    PROGIMAGE_CORS_IMAGE_ORIGINS: 'https://shop.example',
    PROGIMAGE_CORS_API_ORIGINS: 'https://admin.example, http://localhost:3000',
    PROGIMAGE_BOOTSTRAP_API_KEY: 'pik_0123456789abcdef0123456789abcdef',
    PROGIMAGE_AUTH_CACHE_MS: '250',
    PROGIMAGE_MAX_INPUT_PIXELS: '50000000',
    PROGIMAGE_MAX_FRAMES: '100',
    PROGIMAGE_HEADERS_TIMEOUT_MS: '5000',
    PROGIMAGE_REQUEST_TIMEOUT_MS: '60000',
    PROGIMAGE_MAX_CONCURRENT_TRANSFORMS: '3',
    PROGIMAGE_TRANSFORM_QUEUE_LENGTH: '10',
    PROGIMAGE_TRANSFORM_HEAVY_COST_MS: '500',
    PROGIMAGE_TRANSFORM_MAX_COST_MS: '60000',
    PROGIMAGE_TRANSFORM_MEMORY_MB: '2048',
    PROGIMAGE_BACKLOG_SAMPLE_MS: '2000',
    PROGIMAGE_CONSUMER_CONCURRENCY: '4',
    PROGIMAGE_BACKLOG_DEGRADED_SECONDS: '120',
    PROGIMAGE_PUBLIC_METRICS: 'false',
    PROGIMAGE_PRESETS: '{"avatar":{"w":64,"h":64,"mask":"circle"}}',
    PROGIMAGE_PRESETS_ONLY: 'true',
    PROGIMAGE_FETCH_TIMEOUT_MS: '2000',
    PROGIMAGE_FETCH_MAX_REDIRECTS: '2',
    PROGIMAGE_FETCH_ALLOW_HOSTS: 'images.internal:8080, [::1]:9000',
    PROGIMAGE_KAFKA_NAMESPACE: 'staging',
    PROGIMAGE_KAFKA_CLIENT_ID: 'progimage-test',
    PROGIMAGE_KAFKA_TOPIC_PARTITIONS: '12',
    PROGIMAGE_KAFKA_REPLICATION_FACTOR: '3',
    PROGIMAGE_S3_BUCKET: 'images.example',
    PROGIMAGE_S3_REGION: 'eu-west-1',
    PROGIMAGE_MONGODB_DATABASE: 'progimage_test',
    PROGIMAGE_SCAN: 'off',
    PROGIMAGE_CLAMD_PORT: '3311',
    PROGIMAGE_CLAMD_TIMEOUT_MS: '5000',
    PROGIMAGE_SCHEDULE_SIGNATURES: '15 */6 * * *',
    PROGIMAGE_SCHEDULE_RESCAN: 'off',
    PROGIMAGE_SCHEDULE_EXPIRY: '*/5 * * * *',
    PROGIMAGE_SCHEDULE_ORPHANS: 'off',
    PROGIMAGE_SCHEDULE_DUPLICATES: '0 5 * * 0',
    PROGIMAGE_DEFAULT_TTL_SECONDS: '86400',
    PROGIMAGE_ORPHAN_GRACE_SECONDS: '3600',
    PROGIMAGE_STATS_FLUSH_MS: '5000',
    PROGIMAGE_STATS_FLUSH_HITS: '200',
    PROGIMAGE_JOB_LEASE_MS: '30000',
    PROGIMAGE_ADMIN_TOKEN: 'an-admin-token-of-some-length',
    PROGIMAGE_FRESHCLAM: 'off',
    PROGIMAGE_SIGNATURES_MAX_AGE_HOURS: '24',
    PROGIMAGE_FRESHCLAM_MIRROR: 'https://clamav-mirror.internal/',
    PROGIMAGE_FRESHCLAM_TIMEOUT_MS: '120000',
    PROGIMAGE_CLAMAV_DATABASE_DIR: '/srv/clamav',
    PROGIMAGE_RESCAN_PER_SECOND: '5',
    PROGIMAGE_WEBHOOK_TIMEOUT_MS: '2000',
    PROGIMAGE_WEBHOOK_CONCURRENCY: '4',
    PROGIMAGE_WEBHOOK_RETRY_SCHEDULE: '1, 10,60',
    PROGIMAGE_WEBHOOK_DISABLE_AFTER_SECONDS: '3600',
    PROGIMAGE_WEBHOOK_DISABLE_AFTER_FAILURES: '5',
    PROGIMAGE_WEBHOOK_POLL_MS: '250',
    PROGIMAGE_CONFIG_FILE: '/etc/progimage/live.json',
  });

  t.true(config.s3?.endpoint instanceof URL);
  t.deepEqual(comparable(config), {
    http: { host: '127.0.0.1', port: 9000, responseCacheMs: 0 },
    cors: { imageOrigins: ['https://shop.example'], apiOrigins: ['https://admin.example', 'http://localhost:3000'] },
    logLevel: 'debug',
    dataDir: '/var/lib/progimage',
    configFile: '/etc/progimage/live.json',
    uploads: { maxBytes: 1_048_576, acceptedFormats: ['jpeg', 'png'], defaultTtlSeconds: 86_400, ingestMaxAgeSeconds: 3600 },
    fetch: { timeoutMs: 2000, maxRedirects: 2, allowedHosts: ['images.internal:8080', '[::1]:9000'] },
    transforms: { timeoutMs: 12_000, presets: new Map([['avatar', { w: 64, h: 64, mask: 'circle' }]]), presetsOnly: true },
    auth: {
      bootstrapApiKey: 'pik_0123456789abcdef0123456789abcdef',
      cacheMs: 250,
      publicMetrics: false,
      adminToken: 'an-admin-token-of-some-length',
    },
    limits: {
      maxInputPixels: 50_000_000,
      maxFrames: 100,
      headersTimeoutMs: 5000,
      requestTimeoutMs: 60_000,
      concurrentTransforms: 3,
      queuedTransforms: 10,
      heavyTransformCost: 500,
      maxTransformCost: 60_000,
      transformMemoryBytes: 2048 * 1024 * 1024,
    },
    kafka: {
      brokers: ['kafka-1:9092', 'kafka-2:9092', 'kafka-3:9092'],
      clientId: 'progimage-test',
      namespace: 'staging',
      topicPartitions: 12,
      replicationFactor: 3,
    },
    s3: {
      endpoint: 'http://minio:9000/',
      accessKey: 'progimage',
      secretKey: 'progimage-secret',
      bucket: 'images.example',
      region: 'eu-west-1',
      timeoutMs: 60_000,
    },
    mongo: { url: 'mongodb://mongodb:27017', database: 'progimage_test', timeoutMs: 30_000 },
    scan: { enabled: false, clamd: { host: 'clamav', port: 3311, timeoutMs: 5000 } },
    scheduler: {
      schedules: { signatures: '15 */6 * * *', rescan: null, expiry: '*/5 * * * *', orphans: null, duplicates: '0 5 * * 0' },
      leaseMs: 30_000,
      signaturesMaxAgeHours: 24,
      freshclam: { enabled: false, mirror: 'https://clamav-mirror.internal/', timeoutMs: 120_000, databaseDir: '/srv/clamav' },
      rescanPerSecond: 5,
      orphanGraceSeconds: 3600,
    },
    stats: { flushEveryMs: 5000, flushAfterHits: 200 },
    pipeline: { consumerConcurrency: 4 },
    backlog: { sampleMs: 2000, degradedSeconds: 120 },
    webhooks: {
      timeoutMs: 2000,
      concurrency: 4,
      retryScheduleMs: [1000, 10_000, 60_000],
      disableAfterMs: 3_600_000,
      disableAfterFailures: 5,
      pollMs: 250,
    },
  });
});

test('a job schedule is a cron expression or off; anything else is refused, naming the variable', (t) => {
  t.deepEqual(problemsOf(t, { PROGIMAGE_SCHEDULE_RESCAN: 'every night' }), [
    'PROGIMAGE_SCHEDULE_RESCAN: expected a cron expression such as "0 */3 * * *", or off (got "every night")',
  ]);
  t.is(loadConfig({ PROGIMAGE_SCHEDULE_RESCAN: '0 4 * * 1' }).scheduler.schedules.rescan, '0 4 * * 1');
});

test('server settings left out take their defaults', (t) => {
  const config = loadConfig(servers);

  t.deepEqual(config.kafka, {
    brokers: ['kafka-1:9092', 'kafka-2:9092', 'kafka-3:9092'],
    clientId: 'progimage',
    namespace: null,
    topicPartitions: 6,
    replicationFactor: 1,
  });
  t.is(config.s3?.bucket, 'progimage');
  t.is(config.s3?.region, 'us-east-1');
  t.is(config.s3?.timeoutMs, 60_000);
  t.deepEqual(config.mongo, { url: 'mongodb://mongodb:27017', database: 'progimage', timeoutMs: 30_000 });
  t.deepEqual(config.scan, { enabled: true, clamd: { host: 'clamav', port: 3310, timeoutMs: 60_000 } });
});

test('a port out of range is rejected, naming the variable, the accepted range and the value given', (t) => {
  const problems = problemsOf(t, { PROGIMAGE_HTTP_PORT: '70000' });

  t.is(problems.length, 1);
  t.regex(problems[0] ?? '', /^PROGIMAGE_HTTP_PORT: /);
  t.regex(problems[0] ?? '', /0 to 65535/);
  t.regex(problems[0] ?? '', /"70000"/);
});

test('a port that is not a number is rejected, naming the variable', (t) => {
  const problems = problemsOf(t, { PROGIMAGE_CLAMD_PORT: 'clamd' });

  t.is(problems.length, 1);
  t.regex(problems[0] ?? '', /^PROGIMAGE_CLAMD_PORT: expected a TCP port number/);
});

test('a value outside an enumeration is rejected, naming the accepted values', (t) => {
  const problems = problemsOf(t, { PROGIMAGE_SCAN: 'maybe' });

  t.is(problems.length, 1);
  t.regex(problems[0] ?? '', /^PROGIMAGE_SCAN: /);
  t.regex(problems[0] ?? '', /"on"/);
  t.regex(problems[0] ?? '', /"off"/);
  t.regex(problems[0] ?? '', /"maybe"/);
});

test('an unknown PROGIMAGE_ variable is rejected by name, so a typo cannot silently fall back to a default', (t) => {
  const problems = problemsOf(t, { PROGIMAGE_HTPP_PORT: '9000' });

  t.is(problems.length, 1);
  t.regex(problems[0] ?? '', /^PROGIMAGE_HTPP_PORT is not a ProgImage setting/);
  t.regex(problems[0] ?? '', /PROGIMAGE_HTTP_PORT/, 'lists the known settings');
});

test('the settings of the client commands (PROGIMAGE_URL, PROGIMAGE_API_KEY) may be in the environment of the server: one shell runs both', (t) => {
  const config = loadConfig({ PROGIMAGE_URL: 'http://localhost:8080', PROGIMAGE_API_KEY: 'pik_0123456789abcdefghijklmnopqrstuvwxyz' });
  t.is(config.http.port, 8080);
});

test('an S3 endpoint without its keys names each missing variable', (t) => {
  t.deepEqual(problemsOf(t, { PROGIMAGE_S3_ENDPOINT: 'http://minio:9000' }), [
    'PROGIMAGE_S3_ACCESS_KEY: required when PROGIMAGE_S3_ENDPOINT is set',
    'PROGIMAGE_S3_SECRET_KEY: required when PROGIMAGE_S3_ENDPOINT is set',
  ]);
  t.deepEqual(problemsOf(t, { PROGIMAGE_S3_ENDPOINT: 'http://minio:9000', PROGIMAGE_S3_ACCESS_KEY: 'progimage' }), [
    'PROGIMAGE_S3_SECRET_KEY: required when PROGIMAGE_S3_ENDPOINT is set',
  ]);
});

test('an empty string counts as unset', (t) => {
  const config = loadConfig({ PROGIMAGE_HTTP_PORT: '', PROGIMAGE_KAFKA_BROKERS: '', PROGIMAGE_SCAN: '' });

  t.deepEqual(config, loadConfig({}));
  const s3WithEmptySecret = {
    PROGIMAGE_S3_ENDPOINT: 'http://minio:9000',
    PROGIMAGE_S3_ACCESS_KEY: 'progimage',
    PROGIMAGE_S3_SECRET_KEY: '',
  };
  t.deepEqual(problemsOf(t, s3WithEmptySecret), ['PROGIMAGE_S3_SECRET_KEY: required when PROGIMAGE_S3_ENDPOINT is set']);
});

test('every problem is reported at once, one line per variable, and the message lists them all', (t) => {
  const env = {
    PROGIMAGE_HTTP_PORT: '-1',
    PROGIMAGE_SCAN: 'maybe',
    PROGIMAGE_MONGODB_URL: 'postgres://db',
    PROGIMAGE_KAFKA_BROKERS: 'kafka',
    PROGIMAGE_COLOUR: 'blue',
    PROGIMAGE_S3_ACCESS_KEY: 'orphan-key',
  };
  const error = t.throws(() => loadConfig(env), { instanceOf: ConfigError });

  t.deepEqual(error.problems.map((problem) => /^PROGIMAGE_[A-Z0-9_]+/.exec(problem)?.[0]).sort(), Object.keys(env).sort());
  for (const problem of error.problems) t.true(error.message.includes(problem), `message includes "${problem}"`);
});

test('a number is decimal digits: hex, exponents and blanks are refused', (t) => {
  for (const value of ['0x50', '1e3', ' ', '80.5']) {
    const problems = problemsOf(t, { PROGIMAGE_HTTP_PORT: value });
    t.regex(problems[0] ?? '', /^PROGIMAGE_HTTP_PORT: expected a TCP port number/, value);
  }
});

test('a broker port out of range is refused', (t) => {
  t.regex(problemsOf(t, { PROGIMAGE_KAFKA_BROKERS: 'kafka:99999' })[0] ?? '', /^PROGIMAGE_KAFKA_BROKERS: expected host:port/);
});

test('secrets never appear in an error message', (t) => {
  const problems = problemsOf(t, {
    PROGIMAGE_S3_ENDPOINT: 'http://minio:9000',
    PROGIMAGE_S3_ACCESS_KEY: 'progimage',
    PROGIMAGE_S3_SECRET_KEY: 'hunt2',
    PROGIMAGE_MONGODB_URL: 'mongodb://admin:s3cret-pass@mongo:27017 extra',
  });

  const message = problems.join('\n');
  t.false(message.includes('hunt2'));
  t.false(message.includes('s3cret-pass'));
  t.regex(message, /PROGIMAGE_S3_SECRET_KEY: .*a value of 5 characters/);
  t.regex(message, /mongodb:\/\/admin:\*\*\*@mongo/);
});

test('S3 keys without an endpoint are refused rather than silently storing blobs on local disk', (t) => {
  t.deepEqual(problemsOf(t, { PROGIMAGE_S3_ACCESS_KEY: 'progimage' }), [
    'PROGIMAGE_S3_ACCESS_KEY: only used with PROGIMAGE_S3_ENDPOINT, which is not set (blobs would go to a local folder)',
  ]);
});

test('scanning "auto" scans exactly when clamd is configured; "on" requires clamd; "off" never scans', (t) => {
  t.false(loadConfig({ PROGIMAGE_SCAN: 'auto' }).scan.enabled);
  t.true(loadConfig({ PROGIMAGE_SCAN: 'auto', PROGIMAGE_CLAMD_HOST: 'clamav' }).scan.enabled);
  t.true(loadConfig({ PROGIMAGE_SCAN: 'on', PROGIMAGE_CLAMD_HOST: 'clamav' }).scan.enabled);
  t.false(loadConfig({ PROGIMAGE_SCAN: 'off', PROGIMAGE_CLAMD_HOST: 'clamav' }).scan.enabled);
  t.regex(problemsOf(t, { PROGIMAGE_SCAN: 'on' })[0] ?? '', /^PROGIMAGE_CLAMD_HOST: required when PROGIMAGE_SCAN is "on"/);
});

test('an accepted format that ProgImage does not know is refused, naming the known ones', (t) => {
  const problem = problemsOf(t, { PROGIMAGE_ACCEPTED_FORMATS: 'jpeg,bmp' })[0] ?? '';
  t.regex(problem, /^PROGIMAGE_ACCEPTED_FORMATS: /);
  t.regex(problem, /"jpeg"/);
  t.regex(problem, /"svg"/);
});

test('HTTP port 0 asks for any free port; server ports still start at 1', (t) => {
  t.is(loadConfig({ PROGIMAGE_HTTP_PORT: '0' }).http.port, 0);
  t.regex(problemsOf(t, { PROGIMAGE_CLAMD_PORT: '0' })[0] ?? '', /^PROGIMAGE_CLAMD_PORT: expected a TCP port number from 1 to 65535/);
});

test('CORS origins are written as browsers send them; image bytes may be open to any page (*) or to none (off)', (t) => {
  t.deepEqual(loadConfig({ PROGIMAGE_CORS_IMAGE_ORIGINS: 'off' }).cors.imageOrigins, []);
  t.deepEqual(loadConfig({ PROGIMAGE_CORS_IMAGE_ORIGINS: ' * ' }).cors.imageOrigins, '*');
  t.deepEqual(loadConfig({ PROGIMAGE_CORS_IMAGE_ORIGINS: 'https://a.example,https://b.example:8443' }).cors.imageOrigins, [
    'https://a.example',
    'https://b.example:8443',
  ]);
  for (const origin of ['https://app.example/', 'https://App.example', 'https://app.example:443', 'ftp://app.example', 'null', '*']) {
    const [problem = ''] = problemsOf(t, { PROGIMAGE_CORS_API_ORIGINS: `https://ok.example,${origin}` });
    t.regex(problem, /^PROGIMAGE_CORS_API_ORIGINS: expected an origin as browsers send it/, origin);
  }
  t.regex(
    problemsOf(t, { PROGIMAGE_CORS_IMAGE_ORIGINS: 'https://app.example/images' })[0] ?? '',
    /^PROGIMAGE_CORS_IMAGE_ORIGINS: expected an origin/,
  );
});

test('presets are a JSON object of name → transform options; a bad one names the preset and the problem', (t) => {
  const problem = (value: string) => problemsOf(t, { PROGIMAGE_PRESETS: value })[0] ?? '';
  t.regex(problem('{"avatar":{"w":0}}'), /^PROGIMAGE_PRESETS: preset "avatar": width: expected a width/);
  t.regex(problem('{"Big Thumb":{"w":10}}'), /preset "Big Thumb": a name is 1-32 characters/);
  t.regex(problem('{"webp-thumb":{"w":10,"format":"webp"}}'), /preset "webp-thumb": format: a preset is made in every format/);
  t.regex(problem('[1,2]'), /expected a JSON object of preset name/);
  t.regex(problem('{not json'), /PROGIMAGE_PRESETS: /);
});
