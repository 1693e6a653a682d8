export { ConfigError, loadConfig } from './config.ts';
export type {
  ClamdConfig,
  Config,
  CorsConfig,
  KafkaConfig,
  LogLevel,
  MongoConfig,
  S3Config,
  SchedulerConfig,
  TransformSettings,
  WebhookConfig,
} from './config.ts';
export { SETTING_NAMES } from './environment.ts';
export type { SettingName } from './environment.ts';
export { LiveConfig } from './live-config.ts';
export type { ConfigListener } from './live-config.ts';
