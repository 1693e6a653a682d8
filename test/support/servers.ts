import type { ClamdConfig, Config, KafkaConfig, MongoConfig, S3Config } from '../../lib/config/index.ts';
import { loadConfig } from '../../lib/config/index.ts';
import { localStackEnvironment } from '../../infra/local/settings.ts';
import { startStack } from '../../infra/local/stack-runner.ts';

/** The configuration of a test run in which every server is real. */
export interface ServerConfig extends Config {
  readonly kafka: KafkaConfig;
  readonly s3: S3Config;
  readonly mongo: MongoConfig;
  readonly scan: { readonly enabled: true; readonly clamd: ClamdConfig };
}

const SERVER_SETTINGS = ['PROGIMAGE_KAFKA_BROKERS', 'PROGIMAGE_S3_ENDPOINT', 'PROGIMAGE_MONGODB_URL', 'PROGIMAGE_CLAMD_HOST'] as const;

function requireServers(config: Config, source: string): ServerConfig {
  const { kafka, s3, mongo, scan } = config;
  if (kafka === null || s3 === null || mongo === null || scan.clamd === null || !scan.enabled) {
    throw new Error(`${source} must name every server (${SERVER_SETTINGS.join(', ')}) with scanning on`);
  }
  return { ...config, kafka, s3, mongo, scan: { enabled: true, clamd: scan.clamd } };
}

/**
 * The servers for tests that need them: the stack named by the environment
 * (e.g. docker-compose's) when any server setting is given, otherwise the
 * local stack, started if it is not running. Never a silent skip.
 */
export async function serverConfig(): Promise<ServerConfig> {
  if (SERVER_SETTINGS.some((name) => process.env[name] !== undefined)) {
    return requireServers(loadConfig(process.env), 'the environment');
  }
  await startStack(() => undefined);
  return requireServers(loadConfig({ ...process.env, ...localStackEnvironment() }), 'the local stack');
}
