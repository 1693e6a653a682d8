import { randomBytes } from 'node:crypto';
import { logLevel } from 'kafkajs';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ALL_TOPICS } from '../../../lib/events/topics.ts';
import { loadConfig, type KafkaConfig } from '../../../lib/config/index.ts';
import { createKafkaClient } from '../../../lib/kafka/client.ts';
import { ensureTopics } from '../../../lib/kafka/topics.ts';
import type { LocalServer } from '../server.ts';
import { HOST, localInfraDir, localStackEnvironment, PORTS, runDir } from '../settings.ts';
import { requireTool, run } from '../tools.ts';
import { installDir, installOnce } from './install-cache.ts';

const VERSION = '3.9.1';
const home = installDir('kafka', VERSION);
const libs = join(home, 'libs');
const workDir = join(runDir, 'kafka');
const dataDir = join(workDir, 'data');
const logFile = join(runDir, 'kafka.log');

const JAVA_HINT = 'Kafka needs Java 17 or newer (Debian: apt-get install openjdk-17-jre-headless)';

function kafkaConfig(): KafkaConfig {
  const { kafka } = loadConfig(localStackEnvironment());
  if (kafka === null) throw new Error('the local stack environment names no Kafka brokers');
  return kafka;
}

/** KRaft, one node acting as broker and controller, topics created by the project only. */
function serverProperties(): string {
  return `${[
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@${HOST}:${PORTS.kafkaController}`,
    `listeners=PLAINTEXT://${HOST}:${PORTS.kafka},CONTROLLER://${HOST}:${PORTS.kafkaController}`,
    `advertised.listeners=PLAINTEXT://${HOST}:${PORTS.kafka}`,
    'controller.listener.names=CONTROLLER',
    'inter.broker.listener.name=PLAINTEXT',
    'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
    `log.dirs=${dataDir}`,
    'auto.create.topics.enable=false',
    'offsets.topic.replication.factor=1',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'group.initial.rebalance.delay.ms=0',
  ].join('\n')}\n`;
}

const LOG4J = `log4j.rootLogger=INFO, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka=WARN
log4j.logger.org.apache.kafka=WARN
`;

/** Kafka's own random cluster id format: 16 random bytes, URL-safe base64 without padding. */
const newClusterId = (): string => randomBytes(16).toString('base64url');

const javaArgs = (mainClass: string, ...args: string[]): string[] => [
  '-Xms256m',
  '-Xmx768m',
  '-Djava.awt.headless=true',
  `-Dlog4j.configuration=file:${join(workDir, 'log4j.properties')}`,
  '-cp',
  join(libs, '*'),
  mainClass,
  ...args,
];

export const kafkaServer: LocalServer = {
  name: 'kafka',
  version: VERSION,
  logFile,
  address: `${HOST}:${PORTS.kafka}`,
  ports: [PORTS.kafka, PORTS.kafkaController],
  startTimeoutMs: 90_000,

  async install() {
    requireTool('java', JAVA_HINT);
    const mvn = requireTool('mvn', 'the broker jars come from Maven Central through Maven (Debian: apt-get install maven)');
    // The broker and its runtime dependencies, resolved from Maven Central by Maven itself.
    await installOnce(home, join('libs', `kafka_2.13-${VERSION}.jar`), async (scratch) => {
      await run(
        mvn,
        [
          '-B',
          '-q',
          '-f',
          join(localInfraDir, 'kafka', 'pom.xml'),
          'dependency:copy-dependencies',
          `-Dkafka.version=${VERSION}`,
          '-DincludeScope=runtime',
          `-DoutputDirectory=${join(scratch, 'libs')}`,
        ],
        { logFile: join(runDir, 'kafka-install.log') },
      );
    });
  },

  async prepare() {
    mkdirSync(workDir, { recursive: true });
    writeFileSync(join(workDir, 'server.properties'), serverProperties());
    writeFileSync(join(workDir, 'log4j.properties'), LOG4J);
    if (existsSync(join(dataDir, 'meta.properties'))) return;
    const java = requireTool('java', JAVA_HINT);
    await run(
      java,
      javaArgs('kafka.tools.StorageTool', 'format', '-t', newClusterId(), '-c', join(workDir, 'server.properties')),
      { logFile },
    );
  },

  process() {
    return {
      command: requireTool('java', JAVA_HINT),
      args: javaArgs('kafka.Kafka', join(workDir, 'server.properties')),
    };
  },

  async checkHealth() {
    const admin = createKafkaClient(kafkaConfig(), { connectionTimeoutMs: 1000, retries: 0, logLevel: logLevel.NOTHING }).admin();
    try {
      await admin.connect();
      await admin.describeCluster();
    } finally {
      await admin.disconnect();
    }
  },

  async afterReady() {
    const config = kafkaConfig();
    const admin = createKafkaClient(config).admin();
    try {
      await admin.connect();
      await ensureTopics(admin, ALL_TOPICS, config);
    } finally {
      await admin.disconnect();
    }
  },
};
