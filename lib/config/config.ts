import type { z } from 'zod';
import type { ImageFormat } from '../events/payloads.ts';
import {
  SECRET_SETTINGS,
  SETTING_NAMES,
  SETTING_PREFIX,
  URL_SETTINGS_WITH_CREDENTIALS,
  environmentSchema,
  type Environment,
} from './environment.ts';
import { DEFAULT_PRESETS, parsePresets, type Presets } from '@progimage/transform-language/schema';

export type LogLevel = Environment['PROGIMAGE_LOG_LEVEL'];

export type TransformSettings = Config['transforms'];

export interface KafkaConfig {
  readonly brokers: readonly string[];
  readonly clientId: string;
  /** Prefixes every topic and consumer group, so deployments can share one cluster; null: none. */
  readonly namespace: string | null;
  readonly topicPartitions: number;
  readonly replicationFactor: number;
}

export interface S3Config {
  readonly endpoint: URL;
  readonly accessKey: string;
  readonly secretKey: string;
  readonly bucket: string;
  readonly region: string;
  /** How long one call may take (a 50 MiB blob included) before the server counts as not answering. */
  readonly timeoutMs: number;
}

export interface MongoConfig {
  readonly url: string;
  readonly database: string;
  /** How long an operation waits on a server that stopped answering; past it the server counts as unavailable. */
  readonly timeoutMs: number;
}

export interface ClamdConfig {
  readonly host: string;
  readonly port: number;
  readonly timeoutMs: number;
}

export interface SchedulerConfig {
  /** Cron expressions by job name; a job without one runs on demand only. */
  readonly schedules: {
    readonly signatures: string | null;
    readonly rescan: string | null;
    readonly expiry: string | null;
    readonly orphans: string | null;
    readonly duplicates: string | null;
  };
  readonly leaseMs: number;
  /** Official signatures older than this are shown as degraded by readiness. */
  readonly signaturesMaxAgeHours: number;
  /**
   * Whether the signatures job runs freshclam (else another process updates the signatures), its private
   * mirror (null: the official mirrors), its deadline, and the directory clamd loads.
   */
  readonly freshclam: { readonly enabled: boolean; readonly mirror: URL | null; readonly timeoutMs: number; readonly databaseDir: string };
  readonly rescanPerSecond: number;
  readonly orphanGraceSeconds: number;
}

/** Hit statistics are written every `flushEveryMs` or once `flushAfterHits` are pending, whichever comes first. */
export interface StatsConfig {
  readonly flushEveryMs: number;
  readonly flushAfterHits: number;
}

/**
 * Which web pages may read the answers cross-origin (CORS): image bytes, by
 * any page ("*") or by these origins (none: empty); the JSON API, by these
 * origins and each tenant's own.
 */
export interface CorsConfig {
  readonly imageOrigins: '*' | readonly string[];
  readonly apiOrigins: readonly string[];
}

/**
 * Webhook deliveries: the deadline of one attempt, attempts in flight per worker, the waits
 * before each retry, when an endpoint that keeps failing is disabled (failing for
 * `disableAfterMs`, or `disableAfterFailures` attempts in a row; null: by time only),
 * and how often due retries are looked for.
 */
export interface WebhookConfig {
  readonly timeoutMs: number;
  readonly concurrency: number;
  readonly retryScheduleMs: readonly number[];
  readonly disableAfterMs: number;
  readonly disableAfterFailures: number | null;
  readonly pollMs: number;
}

/** The whole configuration of a ProgImage service. A `null` server means its embedded adapter is used. */
export interface Config {
  /** `responseCacheMs`: how long a hot derived image's response is answered without re-checking its image (0: never). */
  readonly http: { readonly host: string; readonly port: number; readonly responseCacheMs: number };
  readonly cors: CorsConfig;
  readonly logLevel: LogLevel;
  readonly dataDir: string;
  /** The file of live settings watched while the services run; null: none. */
  readonly configFile: string | null;
  /**
   * `defaultTtlSeconds`: how long an upload that names no ttl lives (null: until deleted);
   * `ingestMaxAgeSeconds`: how old an upstream's signed ingest request may be when it is taken up.
   */
  readonly uploads: {
    readonly maxBytes: number;
    readonly acceptedFormats: readonly ImageFormat[];
    readonly defaultTtlSeconds: number | null;
    readonly ingestMaxAgeSeconds: number;
  };
  /** Fetching images from URLs: a deadline per fetch, redirects followed, and host:port entries exempt from the address checks. */
  readonly fetch: { readonly timeoutMs: number; readonly maxRedirects: number; readonly allowedHosts: readonly string[] };
  /**
   * The deadline of one transformation, from its start to its encoded bytes;
   * the presets every image is made in (processors/variants) and that GET
   * may name; and whether stored derived images may only be presets.
   */
  readonly transforms: { readonly timeoutMs: number; readonly presets: Presets; readonly presetsOnly: boolean };
  /**
   * Who may call the API: a key the default tenant gets at start (else a new one is printed once,
   * when the store has no tenant), how long keys and tenants are remembered, whether /metrics is open,
   * and the token of the admin API (/v1/admin; null: off).
   */
  readonly auth: {
    readonly bootstrapApiKey: string | null;
    readonly cacheMs: number;
    readonly publicMetrics: boolean;
    readonly adminToken: string | null;
  };
  /**
   * Bounds on the work one request can cause: pixels (all frames) and frames of an input, how long a client
   * may take to send its headers and its whole request, transformations running and waiting per process, and their cost.
   */
  readonly limits: {
    readonly maxInputPixels: number;
    readonly maxFrames: number;
    readonly headersTimeoutMs: number;
    readonly requestTimeoutMs: number;
    readonly concurrentTransforms: number;
    readonly queuedTransforms: number;
    /** Estimated CPU milliseconds (lib/transform/cost.ts) from which a transformation is heavy, and past which it is refused. */
    readonly heavyTransformCost: number;
    readonly maxTransformCost: number;
    /** Estimated bytes the transformations running in a process may hold together, and one may need. */
    readonly transformMemoryBytes: number;
  };
  readonly kafka: KafkaConfig | null;
  readonly s3: S3Config | null;
  readonly mongo: MongoConfig | null;
  /** `enabled` is true exactly when uploads are scanned by `clamd`; otherwise they are marked unscanned. */
  readonly scan: { readonly enabled: boolean; readonly clamd: ClamdConfig | null };
  readonly scheduler: SchedulerConfig;
  readonly stats: StatsConfig;
  readonly webhooks: WebhookConfig;
  /**
   * Messages each pipeline consumer (every stage and the catalog's projection) handles at once: different
   * images' together, one image's in order. Pixel work in a process is bounded by its CPUs besides.
   */
  readonly pipeline: { readonly consumerConcurrency: number };
  /** How often the pipeline's backlog is counted, and the expected wait past which readiness shows it degraded. */
  readonly backlog: { readonly sampleMs: number; readonly degradedSeconds: number };
}

/** A configuration that cannot be used. `problems` has one line per offending variable. */
export class ConfigError extends Error {
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super(`Invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

type EnvironmentVariables = Readonly<Record<string, string | undefined>>;

/** The client's settings (the progimage command and the admin command): a shell that uses both may export them. */
const CLIENT_SETTINGS: ReadonlySet<string> = new Set([
  'PROGIMAGE_URL',
  'PROGIMAGE_API_KEY',
  'PROGIMAGE_TENANT',
  'PROGIMAGE_SIGNING_SECRET',
]);

function unknownSettings(env: EnvironmentVariables): string[] {
  const known = new Set<string>(SETTING_NAMES);
  return Object.keys(env)
    .filter((name) => name.startsWith(SETTING_PREFIX) && !known.has(name) && !CLIENT_SETTINGS.has(name))
    .map((name) => `${name} is not a ProgImage setting (known settings: ${SETTING_NAMES.join(', ')})`);
}

/** The value as it may appear in a message: secrets never do. */
function shownValue(name: string, value: string): string {
  if (SECRET_SETTINGS.has(name)) return `a value of ${value.length} characters`;
  if (URL_SETTINGS_WITH_CREDENTIALS.has(name)) return JSON.stringify(value.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@'));
  return JSON.stringify(value);
}

function describeIssue(issue: z.core.$ZodIssue, env: EnvironmentVariables): string {
  const name = String(issue.path[0]);
  const value = env[name];
  const got = value === undefined ? 'it is not set' : `got ${shownValue(name, value)}`;
  return `${name}: ${issue.message} (${got})`;
}

/** Settings that only make sense together; checked on the raw variables so every problem is reported at once. */
function inconsistentSettings(env: EnvironmentVariables): string[] {
  const problems: string[] = [];
  const s3Keys = ['PROGIMAGE_S3_ACCESS_KEY', 'PROGIMAGE_S3_SECRET_KEY'] as const;
  for (const name of s3Keys) {
    if (env.PROGIMAGE_S3_ENDPOINT !== undefined && env[name] === undefined) {
      problems.push(`${name}: required when PROGIMAGE_S3_ENDPOINT is set`);
    }
    if (env.PROGIMAGE_S3_ENDPOINT === undefined && env[name] !== undefined) {
      problems.push(`${name}: only used with PROGIMAGE_S3_ENDPOINT, which is not set (blobs would go to a local folder)`);
    }
  }
  if (env.PROGIMAGE_SCAN === 'on' && env.PROGIMAGE_CLAMD_HOST === undefined) {
    problems.push('PROGIMAGE_CLAMD_HOST: required when PROGIMAGE_SCAN is "on" (use "auto" to scan only when clamd is configured)');
  }
  return problems;
}

function toConfig(env: Environment): Config {
  const {
    PROGIMAGE_KAFKA_BROKERS: brokers,
    PROGIMAGE_S3_ENDPOINT: s3Endpoint,
    PROGIMAGE_S3_ACCESS_KEY: accessKey,
    PROGIMAGE_S3_SECRET_KEY: secretKey,
    PROGIMAGE_MONGODB_URL: mongoUrl,
    PROGIMAGE_CLAMD_HOST: clamdHost,
  } = env;
  return {
    http: { host: env.PROGIMAGE_HTTP_HOST, port: env.PROGIMAGE_HTTP_PORT, responseCacheMs: env.PROGIMAGE_RESPONSE_CACHE_MS },
    cors: { imageOrigins: env.PROGIMAGE_CORS_IMAGE_ORIGINS, apiOrigins: env.PROGIMAGE_CORS_API_ORIGINS },
    logLevel: env.PROGIMAGE_LOG_LEVEL,
    dataDir: env.PROGIMAGE_DATA_DIR,
    configFile: env.PROGIMAGE_CONFIG_FILE ?? null,
    uploads: {
      maxBytes: env.PROGIMAGE_MAX_UPLOAD_BYTES,
      acceptedFormats: env.PROGIMAGE_ACCEPTED_FORMATS,
      defaultTtlSeconds: env.PROGIMAGE_DEFAULT_TTL_SECONDS ?? null,
      ingestMaxAgeSeconds: env.PROGIMAGE_INGEST_MAX_AGE_SECONDS,
    },
    fetch: {
      timeoutMs: env.PROGIMAGE_FETCH_TIMEOUT_MS,
      maxRedirects: env.PROGIMAGE_FETCH_MAX_REDIRECTS,
      allowedHosts: env.PROGIMAGE_FETCH_ALLOW_HOSTS,
    },
    transforms: {
      timeoutMs: env.PROGIMAGE_TRANSFORM_TIMEOUT_MS,
      presets: env.PROGIMAGE_PRESETS ?? parsePresets(DEFAULT_PRESETS),
      presetsOnly: env.PROGIMAGE_PRESETS_ONLY === 'true',
    },
    limits: {
      maxInputPixels: env.PROGIMAGE_MAX_INPUT_PIXELS,
      maxFrames: env.PROGIMAGE_MAX_FRAMES,
      headersTimeoutMs: env.PROGIMAGE_HEADERS_TIMEOUT_MS,
      requestTimeoutMs: env.PROGIMAGE_REQUEST_TIMEOUT_MS,
      concurrentTransforms: env.PROGIMAGE_MAX_CONCURRENT_TRANSFORMS,
      queuedTransforms: env.PROGIMAGE_TRANSFORM_QUEUE_LENGTH,
      heavyTransformCost: env.PROGIMAGE_TRANSFORM_HEAVY_COST_MS,
      maxTransformCost: env.PROGIMAGE_TRANSFORM_MAX_COST_MS,
      transformMemoryBytes: env.PROGIMAGE_TRANSFORM_MEMORY_MB * 1024 * 1024,
    },
    auth: {
      bootstrapApiKey: env.PROGIMAGE_BOOTSTRAP_API_KEY ?? null,
      cacheMs: env.PROGIMAGE_AUTH_CACHE_MS,
      publicMetrics: env.PROGIMAGE_PUBLIC_METRICS === 'true',
      adminToken: env.PROGIMAGE_ADMIN_TOKEN ?? null,
    },
    kafka:
      brokers === undefined
        ? null
        : {
            brokers,
            clientId: env.PROGIMAGE_KAFKA_CLIENT_ID,
            namespace: env.PROGIMAGE_KAFKA_NAMESPACE ?? null,
            topicPartitions: env.PROGIMAGE_KAFKA_TOPIC_PARTITIONS,
            replicationFactor: env.PROGIMAGE_KAFKA_REPLICATION_FACTOR,
          },
    s3:
      s3Endpoint === undefined || accessKey === undefined || secretKey === undefined
        ? null
        : {
            endpoint: new URL(s3Endpoint),
            accessKey,
            secretKey,
            bucket: env.PROGIMAGE_S3_BUCKET,
            region: env.PROGIMAGE_S3_REGION,
            timeoutMs: env.PROGIMAGE_S3_TIMEOUT_MS,
          },
    mongo:
      mongoUrl === undefined
        ? null
        : { url: mongoUrl, database: env.PROGIMAGE_MONGODB_DATABASE, timeoutMs: env.PROGIMAGE_MONGODB_TIMEOUT_MS },
    scan: {
      enabled: env.PROGIMAGE_SCAN !== 'off' && clamdHost !== undefined,
      clamd:
        clamdHost === undefined ? null : { host: clamdHost, port: env.PROGIMAGE_CLAMD_PORT, timeoutMs: env.PROGIMAGE_CLAMD_TIMEOUT_MS },
    },
    scheduler: {
      schedules: {
        signatures: env.PROGIMAGE_SCHEDULE_SIGNATURES,
        rescan: env.PROGIMAGE_SCHEDULE_RESCAN,
        expiry: env.PROGIMAGE_SCHEDULE_EXPIRY,
        orphans: env.PROGIMAGE_SCHEDULE_ORPHANS,
        duplicates: env.PROGIMAGE_SCHEDULE_DUPLICATES,
      },
      leaseMs: env.PROGIMAGE_JOB_LEASE_MS,
      signaturesMaxAgeHours: env.PROGIMAGE_SIGNATURES_MAX_AGE_HOURS,
      freshclam: {
        enabled: env.PROGIMAGE_FRESHCLAM === 'on',
        mirror: env.PROGIMAGE_FRESHCLAM_MIRROR === undefined ? null : new URL(env.PROGIMAGE_FRESHCLAM_MIRROR),
        timeoutMs: env.PROGIMAGE_FRESHCLAM_TIMEOUT_MS,
        databaseDir: env.PROGIMAGE_CLAMAV_DATABASE_DIR,
      },
      rescanPerSecond: env.PROGIMAGE_RESCAN_PER_SECOND,
      orphanGraceSeconds: env.PROGIMAGE_ORPHAN_GRACE_SECONDS,
    },
    stats: { flushEveryMs: env.PROGIMAGE_STATS_FLUSH_MS, flushAfterHits: env.PROGIMAGE_STATS_FLUSH_HITS },
    webhooks: {
      timeoutMs: env.PROGIMAGE_WEBHOOK_TIMEOUT_MS,
      concurrency: env.PROGIMAGE_WEBHOOK_CONCURRENCY,
      retryScheduleMs: env.PROGIMAGE_WEBHOOK_RETRY_SCHEDULE.map((seconds) => seconds * 1000),
      disableAfterMs: env.PROGIMAGE_WEBHOOK_DISABLE_AFTER_SECONDS * 1000,
      disableAfterFailures: env.PROGIMAGE_WEBHOOK_DISABLE_AFTER_FAILURES === 0 ? null : env.PROGIMAGE_WEBHOOK_DISABLE_AFTER_FAILURES,
      pollMs: env.PROGIMAGE_WEBHOOK_POLL_MS,
    },
    pipeline: { consumerConcurrency: env.PROGIMAGE_CONSUMER_CONCURRENCY },
    backlog: { sampleMs: env.PROGIMAGE_BACKLOG_SAMPLE_MS, degradedSeconds: env.PROGIMAGE_BACKLOG_DEGRADED_SECONDS },
  };
}

/**
 * Reads the configuration from environment variables. Empty strings count as
 * unset, so `FOO=` in a compose file falls back to the default.
 * @throws ConfigError naming every variable that is wrong and what it accepts.
 */
export function loadConfig(env: EnvironmentVariables = process.env): Config {
  const relevant = Object.fromEntries(Object.entries(env).filter(([name, value]) => name.startsWith(SETTING_PREFIX) && value !== ''));
  const problems = [...unknownSettings(relevant), ...inconsistentSettings(relevant)];
  const parsed = environmentSchema.safeParse(relevant);
  if (!parsed.success) problems.push(...parsed.error.issues.map((issue) => describeIssue(issue, relevant)));
  if (problems.length > 0 || !parsed.success) throw new ConfigError(problems);
  return toConfig(parsed.data);
}
