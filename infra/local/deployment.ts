import { randomUUID } from 'node:crypto';
import { logLevel } from 'kafkajs';
import { MongoClient } from 'mongodb';
import type { KafkaConfig, MongoConfig, S3Config } from '../../lib/config/index.ts';
import { createKafkaClient } from '../../lib/kafka/client.ts';
import { createS3Client } from '../../lib/s3/client.ts';
import { waitUntil } from '../../lib/wait.ts';

const shortId = (): string => randomUUID().replaceAll('-', '').slice(0, 12);

/**
 * A deployment of its own on shared servers: a catalog database, a Kafka
 * namespace (topics and consumer groups) and a bucket no other process uses,
 * so tests and benchmarks running at once never take each other's events or
 * blobs, and nothing a run stored outlives it: a catalog that grew over many
 * runs (FerretDB reads by scanning) slows nothing down, nor does MinIO's
 * background scanner walking the blobs of every run before (0.12 CPUs idle
 * at 58,781 objects).
 */
export interface IsolatedDeployment {
  /** PROGIMAGE_KAFKA_NAMESPACE, PROGIMAGE_MONGODB_DATABASE and PROGIMAGE_S3_BUCKET for every service of the deployment. */
  readonly env: Readonly<Record<'PROGIMAGE_KAFKA_NAMESPACE' | 'PROGIMAGE_MONGODB_DATABASE' | 'PROGIMAGE_S3_BUCKET', string>>;
  readonly namespace: string;
  readonly database: string;
  readonly bucket: string;
  /** Deletes the namespace's topics and consumer groups, drops the database, empties and deletes the bucket; call after its services stop. */
  remove(): Promise<void>;
}

export function isolatedDeployment(
  label: string,
  servers: { readonly kafka: KafkaConfig; readonly mongo: MongoConfig; readonly s3: S3Config },
): IsolatedDeployment {
  const namespace = `${label}-${shortId()}`;
  const database = `${label.replaceAll('-', '_')}_${shortId()}`;
  const bucket = `${label}-${shortId()}`;
  return {
    env: { PROGIMAGE_KAFKA_NAMESPACE: namespace, PROGIMAGE_MONGODB_DATABASE: database, PROGIMAGE_S3_BUCKET: bucket },
    namespace,
    database,
    bucket,
    remove: () =>
      Promise.all([
        removeNamespace(servers.kafka, namespace),
        dropDatabase(servers.mongo, database),
        removeBucket(servers.s3, bucket),
      ]).then(() => undefined),
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

async function removeBucket(config: S3Config, bucket: string): Promise<void> {
  const client = createS3Client(config);
  if (!(await client.bucketExists(bucket))) return;
  const keys: string[] = [];
  for await (const item of client.listObjectsV2(bucket, '', true) as AsyncIterable<{ readonly name?: string }>) {
    if (item.name !== undefined) keys.push(item.name);
  }
  // The client sends them 1,000 a request, S3's limit.
  await client.removeObjects(bucket, keys);
  await client.removeBucket(bucket);
}
