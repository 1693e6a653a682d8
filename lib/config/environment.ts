import { z } from 'zod';

/** Every environment variable ProgImage reads. The prefix keeps them apart from other programs' settings. */
export const SETTING_PREFIX = 'PROGIMAGE_';

const port = z.coerce
  .number({ error: 'expected a TCP port number' })
  .int('expected a whole number')
  .min(1, 'expected a TCP port from 1 to 65535')
  .max(65535, 'expected a TCP port from 1 to 65535');

const milliseconds = (min: number, max: number) =>
  z.coerce
    .number({ error: 'expected a number of milliseconds' })
    .int('expected a whole number of milliseconds')
    .min(min, `expected ${min} to ${max} milliseconds`)
    .max(max, `expected ${min} to ${max} milliseconds`);

const hostPort = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5}$/;

const brokerList = z
  .string()
  .transform((value) => value.split(',').map((broker) => broker.trim()).filter((broker) => broker !== ''))
  .pipe(
    z
      .array(z.string().regex(hostPort, 'expected host:port'))
      .min(1, 'expected a comma-separated list of host:port, e.g. kafka:9092'),
  );

const httpUrl = z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' });

const mongoUrl = z
  .string()
  .regex(/^mongodb(\+srv)?:\/\/\S+$/, 'expected a mongodb:// or mongodb+srv:// connection string');

/** S3 bucket naming rules (the subset every S3-compatible store accepts). */
const bucketName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'expected 3-63 lowercase letters, digits, dots or hyphens');

const onOff = z.enum(['on', 'off']);

const logLevel = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

/**
 * The raw settings, one entry per environment variable. Unset optional
 * servers mean "use the embedded adapter" (see ARCHITECTURE.md).
 */
export const environmentSchema = z.object({
  PROGIMAGE_HTTP_HOST: z.string().min(1).default('0.0.0.0'),
  PROGIMAGE_HTTP_PORT: port.default(8080),
  PROGIMAGE_LOG_LEVEL: logLevel.default('info'),
  PROGIMAGE_DATA_DIR: z.string().min(1).default('./data'),

  PROGIMAGE_KAFKA_BROKERS: brokerList.optional(),
  PROGIMAGE_KAFKA_CLIENT_ID: z.string().regex(/^[A-Za-z0-9._-]+$/, 'expected letters, digits, ".", "_" or "-"').default('progimage'),
  PROGIMAGE_KAFKA_TOPIC_PARTITIONS: z.coerce.number().int().min(1).max(1000).default(6),
  PROGIMAGE_KAFKA_REPLICATION_FACTOR: z.coerce.number().int().min(1).max(7).default(1),

  PROGIMAGE_S3_ENDPOINT: httpUrl.optional(),
  PROGIMAGE_S3_ACCESS_KEY: z.string().min(3).optional(),
  PROGIMAGE_S3_SECRET_KEY: z.string().min(8, 'expected at least 8 characters').optional(),
  PROGIMAGE_S3_BUCKET: bucketName.default('progimage'),
  PROGIMAGE_S3_REGION: z.string().min(1).default('us-east-1'),

  PROGIMAGE_MONGODB_URL: mongoUrl.optional(),
  PROGIMAGE_MONGODB_DATABASE: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,63}$/, 'expected 1-63 letters, digits, "_" or "-"')
    .default('progimage'),

  PROGIMAGE_SCAN: onOff.default('on'),
  PROGIMAGE_CLAMD_HOST: z.string().min(1).optional(),
  PROGIMAGE_CLAMD_PORT: port.default(3310),
  PROGIMAGE_CLAMD_TIMEOUT_MS: milliseconds(100, 600_000).default(60_000),
});

export type Environment = z.output<typeof environmentSchema>;
export type SettingName = keyof z.input<typeof environmentSchema>;

export const SETTING_NAMES = Object.keys(environmentSchema.shape) as SettingName[];
