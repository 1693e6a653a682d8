import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { logLevel } from 'kafkajs';
import { isolatedDeployment } from '../../infra/local/deployment.ts';
import { stopProcess } from '../../infra/local/processes.ts';
import { kafkaBroker } from '../../infra/local/servers/kafka.ts';
import { localStackEnvironment } from '../../infra/local/settings.ts';
import { ensureRunning } from '../../infra/local/stack-runner.ts';
import { freePort } from '../../infra/local/supervisor.ts';
import { createKafkaClient } from '../../lib/kafka/client.ts';
import { namespaced } from '../../lib/kafka/names.ts';
import { TEST_AUTH_ENV, uploadAccepted, waitForFinalStatus } from '../support/api.ts';
import { spawnChildService } from '../support/child-service.ts';
import { readFixture } from '../support/fixtures.ts';
import { serverConfig } from '../support/servers.ts';

/** Every consumer group the services run: the catalog, ingest's two, and one per processor. */
const GROUPS = ['catalog', 'ingest', 'intake', 'scan', 'strip', 'compress', 'variants', 'transform', 'rescan'].map(
  (name) => `progimage-${name}`,
);
/** A new cluster creates its offsets topic (50 partitions) on the first group's request, and each new topic's leaders. */
const READY_TIMEOUT_MS = 90_000;
/** kafkajs logs "Crash: …" each time a consumer fails, even one it restarts; a service that crashed prints "could not start". */
const CRASH_LINE = /crash|could not start|unhandled/i;

test('every service started on a newly formatted Kafka joins its consumer groups and takes an upload to ready without a crash', async (t) => {
  const began = Date.now();
  // MinIO, FerretDB and clamd of the shared stack; Kafka of our own.
  const servers = await serverConfig();
  const [port, controllerPort] = [await freePort(), await freePort()];
  const workDir = await mkdtemp(join(tmpdir(), 'progimage-fresh-kafka-'));
  const broker = kafkaBroker({ name: `kafka-fresh-${port}`, port, controllerPort, workDir, logFile: join(workDir, 'kafka.log') });
  // Teardowns run last-registered first: the services stop, then the deployment goes, then the broker and its folder.
  t.teardown(async () => {
    await stopProcess(broker.name);
    await rm(workDir, { recursive: true, force: true });
  });
  await broker.install();
  // Formats the data folder as a new cluster, starts it, and returns once it answers a metadata request:
  // its group coordinator and the services' topics do not exist yet.
  await ensureRunning(broker, (line) => {
    t.log(line);
  });
  const kafka = { ...servers.kafka, brokers: [broker.address], replicationFactor: 1 };
  const admin = createKafkaClient(kafka, { logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  t.teardown(() => admin.disconnect());
  t.deepEqual(await admin.listTopics(), [], 'a new cluster: no offsets topic (no group coordinator) and no topics yet');
  const deployment = isolatedDeployment('fresh-kafka', { ...servers, kafka });
  t.teardown(() => deployment.remove());

  const stack = process.env.PROGIMAGE_KAFKA_BROKERS === undefined ? localStackEnvironment() : {};
  const progimage = await spawnChildService('main.ts', {
    ...process.env,
    ...stack,
    ...deployment.env,
    ...TEST_AUTH_ENV,
    PROGIMAGE_KAFKA_BROKERS: broker.address,
    PROGIMAGE_KAFKA_REPLICATION_FACTOR: '1',
    PROGIMAGE_SCAN: 'on',
    PROGIMAGE_LOG_LEVEL: 'warn',
    PROGIMAGE_SCHEDULE_ORPHANS: 'off',
    PROGIMAGE_SCHEDULE_SIGNATURES: 'off',
  });
  t.teardown(() => progimage.stop().then(() => undefined));
  // Ready only once every service started, which includes every consumer having joined its group.
  await progimage.ready(READY_TIMEOUT_MS);
  t.log(`every service ready ${Math.round((Date.now() - began) / 1000)} s after the test began`);

  const id = await uploadAccepted(progimage.baseUrl, await readFixture('Landscape_1.jpg'), 'image/jpeg');
  const image = await waitForFinalStatus(progimage.baseUrl, id, undefined, 60_000);
  t.is(image.status, 'ready');

  const { groups } = await admin.describeGroups(GROUPS.map((group) => namespaced(group, deployment.namespace)));
  for (const group of groups) {
    t.is(group.state, 'Stable', `${group.groupId} is ${group.state}`);
    t.true(group.members.length > 0, `${group.groupId} has no member`);
  }

  t.false(progimage.hasExited, 'the services process ended');
  const crashes = progimage
    .output()
    .split('\n')
    .filter((line) => CRASH_LINE.test(line));
  t.deepEqual(crashes, [], 'lines of crashed consumers or services');
  t.log(`${Math.round((Date.now() - began) / 1000)} s from a new cluster to a ready image`);
});
