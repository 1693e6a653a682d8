import type { Admin } from 'kafkajs';
import type { KafkaConfig } from '../config/index.ts';
import { waitUntil } from '../wait.ts';

/** How long topics just created may take to have a leader for every partition. */
const LEADERS_TIMEOUT_MS = 30_000;

/** Creates the topics that do not exist yet, and waits for their leaders; existing ones are left exactly as they are. */
export async function ensureTopics(
  admin: Admin,
  topics: readonly string[],
  config: Pick<KafkaConfig, 'topicPartitions' | 'replicationFactor'>,
): Promise<void> {
  const existing = new Set(await admin.listTopics());
  const missing = topics.filter((topic) => !existing.has(topic));
  if (missing.length === 0) return;
  // Not kafkajs's waitForLeaders: it gives up at once when the broker does not know a topic it has just
  // created (UNKNOWN_TOPIC_OR_PARTITION), as a KRaft broker answers until the creation reaches its metadata.
  await admin.createTopics({
    waitForLeaders: false,
    topics: missing.map((topic) => ({
      topic,
      numPartitions: config.topicPartitions,
      replicationFactor: config.replicationFactor,
    })),
  });
  await waitUntil(
    async () => {
      const metadata = await admin.fetchTopicMetadata({ topics: missing });
      return metadata.topics.every(({ partitions }) => partitions.length > 0 && partitions.every(({ leader }) => leader >= 0));
    },
    { timeoutMs: LEADERS_TIMEOUT_MS, intervalMs: 100, description: `leaders of the new topics ${missing.join(', ')}` },
  );
}
