import { Kafka, logLevel } from 'kafkajs';
import type { KafkaConfig } from '../config/index.ts';

export interface KafkaClientOptions {
  /** How long to wait for a broker connection before failing. */
  readonly connectionTimeoutMs?: number;
  /** How often kafkajs retries a failed request itself. */
  readonly retries?: number;
  /** Health probes expect refused connections and pass NOTHING. */
  readonly logLevel?: logLevel;
}

/** The one place a kafkajs client is built from ProgImage's configuration. */
export function createKafkaClient(config: KafkaConfig, options: KafkaClientOptions = {}): Kafka {
  return new Kafka({
    clientId: config.clientId,
    brokers: [...config.brokers],
    logLevel: options.logLevel ?? logLevel.WARN,
    connectionTimeout: options.connectionTimeoutMs ?? 3000,
    retry: { retries: options.retries ?? 5 },
  });
}
