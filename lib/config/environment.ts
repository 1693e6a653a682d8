import { availableParallelism } from 'node:os';
import { validate as isCronExpression } from 'node-cron';
import { z } from 'zod';
import { parsePresets } from '@progimage/transform-language/schema';
import { imageFormatSchema, MAX_TTL_SECONDS } from '../events/payloads.ts';
import { webOriginSchema } from '../web-origin.ts';

/** Every environment variable ProgImage reads. The prefix keeps them apart from other programs' settings. */
export const SETTING_PREFIX = 'PROGIMAGE_';

/**
 * Transformations made on request at once, per CPU. A cheap one (a JPEG
 * shrunk on load) does not keep a core busy: its decode is serial and it
 * waits on libuv between steps, so one per CPU left 10% of the CPUs idle
 * under load (docs/BENCHMARKS.md, "Two transformations per CPU"); imgproxy's
 * rule is the same. Memory stays bounded by PROGIMAGE_TRANSFORM_MEMORY_MB.
 */
const TRANSFORMS_PER_CPU = 2;

/** Decimal digits only: "0x50", "1e3" and " " are not numbers here, whatever Number() thinks. */
const wholeNumber = (min: number, max: number, what: string) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/, `expected ${what}`)
    .transform(Number)
    .pipe(z.number().min(min, `expected ${what} from ${min} to ${max}`).max(max, `expected ${what} from ${min} to ${max}`));

const port = wholeNumber(1, 65535, 'a TCP port number');
const milliseconds = (min: number, max: number) => wholeNumber(min, max, 'a number of milliseconds');

const commaSeparated = (value: string): string[] =>
  value
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');

const hostPort = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):([1-9]\d{0,3}|[1-5]\d{4}|6[0-4]\d{3}|65[0-4]\d{2}|655[0-2]\d|6553[0-5])$/;

const hostPortList = (minimum: number, example: string) =>
  z
    .string()
    .transform(commaSeparated)
    .pipe(
      z
        .array(z.string().regex(hostPort, 'expected host:port'))
        .min(minimum, `expected a comma-separated list of host:port, e.g. ${example}`),
    );

const brokerList = hostPortList(1, 'kafka:9092');

const originList = z.string().transform(commaSeparated).pipe(z.array(webOriginSchema));

/** Any origin ("*"), none ("off"), or a comma-separated list of origins. */
const anyOrListedOrigins = z
  .string()
  .trim()
  .transform((value): '*' | string[] => (value === '*' ? value : value === 'off' ? [] : commaSeparated(value)))
  .pipe(z.union([z.literal('*'), z.array(webOriginSchema)]));

const httpUrl = z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' });

const mongoUrl = z.string().regex(/^mongodb(\+srv)?:\/\/\S+$/, 'expected a mongodb:// or mongodb+srv:// connection string');

/** S3 bucket naming rules (the subset every S3-compatible store accepts). */
const bucketName = z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'expected 3-63 lowercase letters, digits, dots or hyphens');

/** A cron expression (five or six fields), or "off" for a job that runs on demand only. */
const schedule = z
  .string()
  .trim()
  .refine((value) => value === 'off' || isCronExpression(value), 'expected a cron expression such as "0 */3 * * *", or off')
  .transform((value) => (value === 'off' ? null : value));

/** Seconds between a webhook delivery's failed attempts, in order: the last one ends its retries. */
const retrySchedule = z
  .string()
  .transform(commaSeparated)
  .pipe(
    z
      .array(
        z
          .string()
          .regex(/^\d+$/, 'expected whole numbers of seconds')
          .transform(Number)
          .pipe(z.number().min(1).max(86_400, 'expected at most 86400 seconds between two attempts')),
      )
      .min(1, 'expected a comma-separated list of seconds, e.g. 5,300,1800')
      .max(50, 'expected at most 50 retries'),
  );

const logLevel = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

/**
 * The raw settings, one entry per environment variable. Unset optional
 * servers mean "use the embedded adapter" (see ARCHITECTURE.md).
 */
export const environmentSchema = z.object({
  PROGIMAGE_HTTP_HOST: z.string().trim().min(1).default('0.0.0.0'),
  /** 0 picks a free port (tests). */
  PROGIMAGE_HTTP_PORT: wholeNumber(0, 65535, 'a TCP port number').default(8080),
  PROGIMAGE_LOG_LEVEL: logLevel.default('info'),
  PROGIMAGE_DATA_DIR: z.string().min(1).default('./data'),
  /** A JSON file of live settings, watched while the process runs (lib/config/live-config.ts). */
  PROGIMAGE_CONFIG_FILE: z.string().min(1).optional(),
  PROGIMAGE_MAX_UPLOAD_BYTES: wholeNumber(1, 2 ** 40, 'a number of bytes').default(50 * 1024 * 1024),
  PROGIMAGE_FETCH_TIMEOUT_MS: milliseconds(100, 300_000).default(15_000),
  PROGIMAGE_FETCH_MAX_REDIRECTS: wholeNumber(0, 20, 'a number of redirects').default(5),
  PROGIMAGE_FETCH_ALLOW_HOSTS: hostPortList(0, 'images.internal:8080').default([]),
  /** A JSON object of preset name → transform options, e.g. {"avatar":{"w":128,"h":128,"mask":"circle"}}. */
  PROGIMAGE_PRESETS: z
    .string()
    .transform((text, ctx) => {
      try {
        return parsePresets(JSON.parse(text));
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: error instanceof Error ? error.message : String(error) });
        return z.NEVER;
      }
    })
    .optional(),
  PROGIMAGE_PRESETS_ONLY: z.enum(['true', 'false'], { error: 'expected true or false' }).default('false'),
  /** A key the default tenant accepts (for scripted installs and tests); e.g. made with `npm run admin -- new-key`. */
  PROGIMAGE_BOOTSTRAP_API_KEY: z
    .string()
    .regex(/^pik_[A-Za-z0-9_-]{32,}$/, 'expected "pik_" and at least 32 letters, digits, "-" or "_"')
    .optional(),
  PROGIMAGE_AUTH_CACHE_MS: wholeNumber(0, 300_000, 'a number of milliseconds').default(5000),
  PROGIMAGE_PUBLIC_METRICS: z.enum(['true', 'false'], { error: 'expected true or false' }).default('true'),
  PROGIMAGE_MAX_INPUT_PIXELS: wholeNumber(10_000, 268_402_689, 'a number of pixels').default(100_000_000),
  PROGIMAGE_MAX_FRAMES: wholeNumber(1, 10_000, 'a number of frames').default(500),
  PROGIMAGE_HEADERS_TIMEOUT_MS: wholeNumber(1000, 300_000, 'a number of milliseconds').default(20_000),
  PROGIMAGE_REQUEST_TIMEOUT_MS: wholeNumber(1000, 3_600_000, 'a number of milliseconds').default(120_000),
  PROGIMAGE_MAX_CONCURRENT_TRANSFORMS: wholeNumber(1, 256, 'a number of transformations').default(
    TRANSFORMS_PER_CPU * availableParallelism(),
  ),
  /** Messages each pipeline consumer (every stage, the catalog's projection) handles at once; one image's stay in order. */
  PROGIMAGE_CONSUMER_CONCURRENCY: wholeNumber(1, 256, 'a number of messages').default(availableParallelism()),
  PROGIMAGE_TRANSFORM_QUEUE_LENGTH: wholeNumber(0, 100_000, 'a number of transformations').default(64),
  PROGIMAGE_TRANSFORM_HEAVY_COST_MS: wholeNumber(1, 3_600_000, 'a number of milliseconds').default(1000),
  PROGIMAGE_TRANSFORM_MAX_COST_MS: wholeNumber(1, 3_600_000, 'a number of milliseconds').default(20_000),
  PROGIMAGE_TRANSFORM_MEMORY_MB: wholeNumber(64, 1_048_576, 'a number of megabytes').default(768),
  PROGIMAGE_RESPONSE_CACHE_MS: wholeNumber(0, 60_000, 'a number of milliseconds').default(1000),
  /** The pages that may read image bytes (signed URLs included): any ("*"), none ("off"), or these origins. */
  PROGIMAGE_CORS_IMAGE_ORIGINS: anyOrListedOrigins.default('*'),
  /** The pages that may call the JSON API, besides each tenant's own corsOrigins. */
  PROGIMAGE_CORS_API_ORIGINS: originList.default([]),
  PROGIMAGE_TRANSFORM_TIMEOUT_MS: wholeNumber(100, 600_000, 'a number of milliseconds').default(30_000),
  PROGIMAGE_ACCEPTED_FORMATS: z
    .string()
    .transform((value) =>
      value
        .split(',')
        .map((format) => format.trim().toLowerCase())
        .filter((format) => format !== ''),
    )
    .pipe(z.array(imageFormatSchema).min(1, 'expected at least one format'))
    .default(['jpeg', 'png', 'webp', 'gif', 'avif', 'heif', 'tiff', 'svg']),

  PROGIMAGE_KAFKA_BROKERS: brokerList.optional(),
  PROGIMAGE_KAFKA_CLIENT_ID: z
    .string()
    .regex(/^[A-Za-z0-9._-]+$/, 'expected letters, digits, ".", "_" or "-"')
    .default('progimage'),
  PROGIMAGE_KAFKA_NAMESPACE: z
    .string()
    .regex(/^[a-z0-9][a-z0-9_-]{0,39}$/, 'expected up to 40 lower-case letters, digits, "_" or "-", e.g. staging')
    .optional(),
  PROGIMAGE_KAFKA_TOPIC_PARTITIONS: wholeNumber(1, 1000, 'a number of partitions').default(6),
  PROGIMAGE_KAFKA_REPLICATION_FACTOR: wholeNumber(1, 7, 'a replication factor').default(1),

  PROGIMAGE_S3_ENDPOINT: httpUrl.optional(),
  PROGIMAGE_S3_ACCESS_KEY: z.string().min(3).optional(),
  PROGIMAGE_S3_SECRET_KEY: z.string().min(8, 'expected at least 8 characters').optional(),
  PROGIMAGE_S3_BUCKET: bucketName.default('progimage'),
  PROGIMAGE_S3_REGION: z.string().min(1).default('us-east-1'),
  /** How long one S3 call (a 50 MiB blob included) may wait on a server that stopped answering before it counts as unavailable. */
  PROGIMAGE_S3_TIMEOUT_MS: milliseconds(100, 600_000).default(60_000),

  PROGIMAGE_MONGODB_URL: mongoUrl.optional(),
  PROGIMAGE_MONGODB_DATABASE: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,63}$/, 'expected 1-63 letters, digits, "_" or "-"')
    .default('progimage'),
  /** How long one catalog operation may wait on a server that stopped answering before it counts as unavailable. */
  PROGIMAGE_MONGODB_TIMEOUT_MS: milliseconds(100, 600_000).default(30_000),

  /** auto: scan when PROGIMAGE_CLAMD_HOST is set, else mark uploads unscanned; on: clamd is required. */
  PROGIMAGE_SCAN: z.enum(['auto', 'on', 'off']).default('auto'),
  PROGIMAGE_CLAMD_HOST: z.string().trim().min(1).optional(),
  PROGIMAGE_CLAMD_PORT: port.default(3310),
  PROGIMAGE_CLAMD_TIMEOUT_MS: milliseconds(100, 600_000).default(60_000),

  PROGIMAGE_SCHEDULE_SIGNATURES: schedule.default('0 */3 * * *'),
  PROGIMAGE_SCHEDULE_RESCAN: schedule.default('30 2 * * *'),
  /** How long a job's lease lasts without being renewed: a scheduler that died is replaced after this long. */
  PROGIMAGE_JOB_LEASE_MS: milliseconds(1000, 3_600_000).default(60_000),
  /** The bearer token of /v1/admin; unset, the admin API is off. */
  PROGIMAGE_ADMIN_TOKEN: z.string().min(16, 'expected at least 16 characters').optional(),
  /**
   * on: the signatures job runs freshclam into PROGIMAGE_CLAMAV_DATABASE_DIR; off: something else updates
   * the signatures (the clamav/clamav image's own freshclam in docker-compose) and the job only reloads clamd.
   */
  PROGIMAGE_FRESHCLAM: z.enum(['on', 'off']).default('on'),
  PROGIMAGE_FRESHCLAM_MIRROR: httpUrl.optional(),
  /** Official signatures built longer ago than this show as degraded in the scheduler's /readyz: updates have stopped. */
  PROGIMAGE_SIGNATURES_MAX_AGE_HOURS: wholeNumber(1, 24 * 365, 'a number of hours').default(48),
  PROGIMAGE_FRESHCLAM_TIMEOUT_MS: milliseconds(1000, 3_600_000).default(600_000),
  PROGIMAGE_CLAMAV_DATABASE_DIR: z.string().min(1).default('/var/lib/clamav'),
  PROGIMAGE_SCHEDULE_EXPIRY: schedule.default('*/10 * * * *'),
  PROGIMAGE_SCHEDULE_ORPHANS: schedule.default('45 3 * * *'),
  PROGIMAGE_SCHEDULE_DUPLICATES: schedule.default('15 4 * * *'),
  /** Seconds an upload lives when it names no ttl; unset: until deleted. */
  PROGIMAGE_DEFAULT_TTL_SECONDS: wholeNumber(1, MAX_TTL_SECONDS, 'a number of seconds').optional(),
  /** How old an upstream's signed ingest request may be when it is taken up: older ones are rejected (a replay, or a backlog too old). */
  PROGIMAGE_INGEST_MAX_AGE_SECONDS: wholeNumber(60, 7 * 24 * 3600, 'a number of seconds').default(3600),
  /** How old a blob without a catalog entry must be before the orphans job deletes it (an upload in flight is younger). */
  PROGIMAGE_ORPHAN_GRACE_SECONDS: wholeNumber(1, 365 * 24 * 3600, 'a number of seconds').default(24 * 3600),
  PROGIMAGE_STATS_FLUSH_MS: milliseconds(100, 3_600_000).default(10_000),
  PROGIMAGE_STATS_FLUSH_HITS: wholeNumber(1, 10_000_000, 'a number of hits').default(10_000),
  PROGIMAGE_RESCAN_PER_SECOND: wholeNumber(1, 10_000, 'a number of requests per second').default(20),
  /** How long a webhook receiver has to answer one delivery attempt, connection included. */
  PROGIMAGE_WEBHOOK_TIMEOUT_MS: milliseconds(100, 60_000).default(10_000),
  /** Webhook deliveries in flight at once, per webhooks worker. */
  PROGIMAGE_WEBHOOK_CONCURRENCY: wholeNumber(1, 1000, 'a number of deliveries').default(16),
  /** Seconds before each retry of a failed webhook delivery (a day in all by default); after the last, it is given up. */
  PROGIMAGE_WEBHOOK_RETRY_SCHEDULE: retrySchedule.default([5, 300, 1800, 7200, 18_000, 28_800, 28_800]),
  /** A webhook endpoint whose every attempt has failed for this long is disabled. */
  PROGIMAGE_WEBHOOK_DISABLE_AFTER_SECONDS: wholeNumber(1, 30 * 24 * 3600, 'a number of seconds').default(24 * 3600),
  /** A webhook endpoint is also disabled after this many failed attempts in a row; 0: only by time. */
  PROGIMAGE_WEBHOOK_DISABLE_AFTER_FAILURES: wholeNumber(0, 1_000_000, 'a number of attempts').default(0),
  /** How often the webhooks worker looks for deliveries due for a retry. */
  PROGIMAGE_WEBHOOK_POLL_MS: milliseconds(50, 60_000).default(1000),
  /** How often the process that answers uploads counts the pipeline's backlog (images not yet final) in the catalog store. */
  PROGIMAGE_BACKLOG_SAMPLE_MS: milliseconds(100, 600_000).default(5000),
  /** The pipeline's expected wait past which /readyz shows the pipeline-backlog check degraded. */
  PROGIMAGE_BACKLOG_DEGRADED_SECONDS: wholeNumber(1, 30 * 24 * 3600, 'a number of seconds').default(600),
});

export type Environment = z.output<typeof environmentSchema>;
export type SettingName = keyof z.input<typeof environmentSchema>;

export const SETTING_NAMES = Object.keys(environmentSchema.shape) as SettingName[];

/** Settings the configuration file may change while the services run; every other one needs a restart. */
export const LIVE_SETTINGS: ReadonlySet<string> = new Set<SettingName>([
  'PROGIMAGE_SCAN',
  'PROGIMAGE_CLAMD_TIMEOUT_MS',
  'PROGIMAGE_MAX_UPLOAD_BYTES',
  'PROGIMAGE_MAX_INPUT_PIXELS',
  'PROGIMAGE_MAX_FRAMES',
  'PROGIMAGE_TRANSFORM_TIMEOUT_MS',
  'PROGIMAGE_PRESETS',
  'PROGIMAGE_PRESETS_ONLY',
  'PROGIMAGE_CORS_IMAGE_ORIGINS',
  'PROGIMAGE_CORS_API_ORIGINS',
]);

/** Settings whose values never appear in an error message or a log line. */
export const SECRET_SETTINGS: ReadonlySet<string> = new Set<SettingName>([
  'PROGIMAGE_S3_SECRET_KEY',
  'PROGIMAGE_BOOTSTRAP_API_KEY',
  'PROGIMAGE_ADMIN_TOKEN',
]);

/** Settings that may carry credentials inside a URL (mongodb://user:password@host). */
export const URL_SETTINGS_WITH_CREDENTIALS: ReadonlySet<string> = new Set<SettingName>(['PROGIMAGE_MONGODB_URL']);
