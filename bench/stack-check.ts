import { logLevel } from 'kafkajs';
import type { KafkaConfig } from '../lib/config/index.ts';
import { pipelineStageSchema } from '../lib/events/payloads.ts';
import { createKafkaClient } from '../lib/kafka/client.ts';

/** The consumer groups of the services hostServices(ALL_SERVICES) starts: one per stage, and the catalog's. */
const SERVICE_GROUPS: readonly string[] = [...pipelineStageSchema.options.map((stage) => `progimage-${stage}`), 'progimage-catalog'];

/**
 * The service groups another process is consuming in, with its members. On a
 * shared stack (tests, `npm start`), that process would take some of the
 * partitions, and with them some of the benchmark's images, while the
 * benchmark took some of its messages: neither side's figures would mean anything.
 */
export async function busyServiceGroups(kafka: KafkaConfig): Promise<string[]> {
  const members = await serviceGroupMembers(kafka);
  return [...members]
    .filter(([, count]) => count > 0)
    .map(([group, count]) => `${group} (${count} member${count === 1 ? '' : 's'})`);
}

async function serviceGroupMembers(kafka: KafkaConfig): Promise<Map<string, number>> {
  const admin = createKafkaClient(kafka, { logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const { groups } = await admin.describeGroups([...SERVICE_GROUPS]);
    return new Map(groups.map((group) => [group.groupId, group.members.length]));
  } finally {
    await admin.disconnect();
  }
}

export interface GroupWatch {
  /** Stops watching; resolves with the groups seen with more members than this process's one. */
  stop(): Promise<string[]>;
}

/** Samples the service groups every `intervalMs` while the benchmark runs on the servers. */
export function watchServiceGroups(kafka: KafkaConfig, intervalMs = 10_000): GroupWatch {
  const shared = new Set<string>();
  const sample = async () => {
    for (const [group, count] of await serviceGroupMembers(kafka)) if (count > 1) shared.add(group);
  };
  let sampling: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    sampling = sampling.then(sample).catch(() => undefined);
  }, intervalMs);
  return {
    async stop() {
      clearInterval(timer);
      await sampling;
      return [...shared];
    },
  };
}
