import type { Admin } from 'kafkajs';
import type { KafkaConfig } from '../config/index.ts';

/** Creates the topics that do not exist yet; existing ones are left exactly as they are. */
export async function ensureTopics(
  admin: Admin,
  topics: readonly string[],
  config: Pick<KafkaConfig, 'topicPartitions' | 'replicationFactor'>,
): Promise<void> {
  const existing = new Set(await admin.listTopics());
  const missing = topics.filter((topic) => !existing.has(topic));
  if (missing.length === 0) return;
  await admin.createTopics({
    waitForLeaders: true,
    topics: missing.map((topic) => ({
      topic,
      numPartitions: config.topicPartitions,
      replicationFactor: config.replicationFactor,
    })),
  });
}
