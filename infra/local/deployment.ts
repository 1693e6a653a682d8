import { randomUUID } from 'node:crypto';
import { logLevel } from 'kafkajs';
import { MongoClient } from 'mongodb';
import type { KafkaConfig, MongoConfig } from '../../lib/config/index.ts';
import { createKafkaClient } from '../../lib/kafka/client.ts';
import { waitUntil } from '../../lib/wait.ts';

const shortId = (): string => randomUUID().replaceAll('-', '').slice(0, 12);

/**
 * A deployment of its own on shared servers: a catalog database and a Kafka
 * namespace (topics and consumer groups) no other process uses, so tests and
 * benchmarks running at once never take each other's events, and a catalog
 * that grew over many runs (FerretDB reads by scanning) slows nothing down.
 */
export interface IsolatedDeployment {
  /** PROGIMAGE_KAFKA_NAMESPACE and PROGIMAGE_MONGODB_DATABASE for every service of the deployment. */
  readonly env: Readonly<Record<'PROGIMAGE_KAFKA_NAMESPACE' | 'PROGIMAGE_MONGODB_DATABASE', string>>;
  readonly namespace: string;
  readonly database: string;
  /** Deletes the namespace's topics and consumer groups and drops the database; call after its services stop. */
  remove(): Promise<void>;
}

export function isolatedDeployment(
  label: string,
  servers: { readonly kafka: KafkaConfig; readonly mongo: MongoConfig },
): IsolatedDeployment {
  const namespace = `${label}-${shortId()}`;
  const database = `${label.replaceAll('-', '_')}_${shortId()}`;
  return {
    env: { PROGIMAGE_KAFKA_NAMESPACE: namespace, PROGIMAGE_MONGODB_DATABASE: database },
    namespace,
    database,
    remove: () => Promise.all([removeNamespace(servers.kafka, namespace), dropDatabase(servers.mongo, database)]).then(() => undefined),
  };
}

/** How long removal waits for the deployment's consumers to leave their groups (a group with members cannot be deleted). */
const GROUPS_EMPTY_TIMEOUT_MS = 60_000;

async function removeNamespace(config: KafkaConfig, namespace: string): Promise<void> {
  const ours = (name: string) => name.startsWith(`${namespace}.`);
  const admin = createKafkaClient(config, { logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    await waitUntil(
      async () => {
        const { groups } = await admin.listGroups();
        const groupIds = groups.map((group) => group.groupId).filter(ours);
        if (groupIds.length > 0) await admin.deleteGroups(groupIds);
        return true;
      },
      { timeoutMs: GROUPS_EMPTY_TIMEOUT_MS, intervalMs: 500, description: `the consumer groups of ${namespace} to be empty and deleted` },
    );
    const topics = (await admin.listTopics()).filter(ours);
    if (topics.length > 0) await admin.deleteTopics({ topics });
  } finally {
    await admin.disconnect();
  }
}

async function dropDatabase(config: MongoConfig, database: string): Promise<void> {
  const client = new MongoClient(config.url);
  try {
    await client.db(database).dropDatabase();
  } finally {
    await client.close();
  }
}
