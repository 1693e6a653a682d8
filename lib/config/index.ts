export { ConfigError, loadConfig } from './config.ts';
export type { ClamdConfig, Config, KafkaConfig, LogLevel, MongoConfig, S3Config, SchedulerConfig } from './config.ts';
export { SETTING_NAMES } from './environment.ts';
export type { SettingName } from './environment.ts';
