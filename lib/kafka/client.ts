import { Kafka, logLevel, type logCreator } from 'kafkajs';
import type { KafkaConfig } from '../config/index.ts';
import type { Logger } from '../logger.ts';

export interface KafkaClientOptions {
  /** How long to wait for a broker connection before failing. */
  readonly connectionTimeoutMs?: number;
  /** How often kafkajs retries a failed request itself. */
  readonly retries?: number;
  /** Health probes expect refused connections and pass NOTHING. */
  readonly logLevel?: logLevel;
  /** Where kafkajs's own log lines go; without one, kafkajs prints JSON to the console itself. */
  readonly logger?: Logger;
}

/** Sends kafkajs's log lines through the service's pino logger, so a process has one log format. */
function toPino(logger: Logger): logCreator {
  const kafkaLog = logger.child({ component: 'kafkajs' });
  return () =>
    ({ namespace, level, log }) => {
      const { message, ...fields } = log;
      const entry = { namespace, ...fields };
      if (level === logLevel.ERROR) kafkaLog.error(entry, message);
      else if (level === logLevel.WARN) kafkaLog.warn(entry, message);
      else if (level === logLevel.INFO) kafkaLog.info(entry, message);
      else kafkaLog.debug(entry, message);
    };
}

/** The one place a kafkajs client is built from ProgImage's configuration. */
export function createKafkaClient(config: KafkaConfig, options: KafkaClientOptions = {}): Kafka {
  return new Kafka({
    clientId: config.clientId,
    brokers: [...config.brokers],
    logLevel: options.logLevel ?? logLevel.WARN,
    ...(options.logger === undefined ? {} : { logCreator: toPino(options.logger) }),
    connectionTimeout: options.connectionTimeoutMs ?? 3000,
    retry: { retries: options.retries ?? 5 },
  });
}
