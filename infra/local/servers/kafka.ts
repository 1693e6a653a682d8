import { randomBytes } from 'node:crypto';
import { logLevel } from 'kafkajs';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ALL_TOPICS } from '../../../lib/events/topics.ts';
import { loadConfig, type KafkaConfig, type SettingName } from '../../../lib/config/index.ts';
import { createKafkaClient } from '../../../lib/kafka/client.ts';
import { ensureTopics } from '../../../lib/kafka/topics.ts';
import type { LocalServer } from '../server.ts';
import { HOST, localInfraDir, localStackEnvironment, PORTS, runDir } from '../settings.ts';
import { requireTool, run } from '../tools.ts';
import { installDir, installOnce } from './install-cache.ts';

const VERSION = '3.9.1';
const home = installDir('kafka', VERSION);
const libs = join(home, 'libs');

const JAVA_HINT = 'Kafka needs Java 17 or newer (Debian: apt-get install openjdk-17-jre-headless)';

function kafkaConfig(settings: Partial<Record<SettingName, string>>): KafkaConfig {
  const { kafka } = loadConfig(settings);
  if (kafka === null) throw new Error('the settings name no Kafka brokers');
  return kafka;
}

/** One broker's own ports and folders: the stack's, or a test's brand-new cluster beside it. */
export interface KafkaBrokerOptions {
  /** Names its pid file in the run folder: `kafka` for the stack's broker. */
  readonly name: string;
  readonly port: number;
  readonly controllerPort: number;
  /** Its configuration files, and under data/ its log dirs (formatted as a new cluster on the first start). */
  readonly workDir: string;
  readonly logFile: string;
}

/** KRaft, one node acting as broker and controller, topics created by the project only. */
function serverProperties({ port, controllerPort, workDir }: KafkaBrokerOptions): string {
  return `${[
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@${HOST}:${controllerPort}`,
    `listeners=PLAINTEXT://${HOST}:${port},CONTROLLER://${HOST}:${controllerPort}`,
    `advertised.listeners=PLAINTEXT://${HOST}:${port}`,
    'controller.listener.names=CONTROLLER',
    'inter.broker.listener.name=PLAINTEXT',
    'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
    `log.dirs=${join(workDir, 'data')}`,
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

const javaArgs = (workDir: string, mainClass: string, ...args: string[]): string[] => [
  '-Xms256m',
  '-Xmx768m',
  '-Djava.awt.headless=true',
  `-Dlog4j.configuration=file:${join(workDir, 'log4j.properties')}`,
  '-cp',
  join(libs, '*'),
  mainClass,
  ...args,
];

/**
 * A single-node KRaft cluster on loopback, from the jars the stack installs:
 * formatted with a new cluster id on its first start, then started as it is.
 */
export function kafkaBroker(options: KafkaBrokerOptions): LocalServer {
  const { name, port, controllerPort, workDir, logFile } = options;
  const address = `${HOST}:${port}`;
  const propertiesFile = join(workDir, 'server.properties');
  return {
    name,
    version: VERSION,
    logFile,
    address,
    ports: [port, controllerPort],
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
      writeFileSync(propertiesFile, serverProperties(options));
      writeFileSync(join(workDir, 'log4j.properties'), LOG4J);
      if (existsSync(join(workDir, 'data', 'meta.properties'))) return;
      const java = requireTool('java', JAVA_HINT);
      await run(java, javaArgs(workDir, 'kafka.tools.StorageTool', 'format', '-t', newClusterId(), '-c', propertiesFile), { logFile });
    },

    process() {
      return { command: requireTool('java', JAVA_HINT), args: javaArgs(workDir, 'kafka.Kafka', propertiesFile) };
    },

    /** Answers once the broker serves metadata, which is before its group coordinator and new topics' leaders are ready. */
    async checkHealth() {
      const config = kafkaConfig({ PROGIMAGE_KAFKA_BROKERS: address });
      const admin = createKafkaClient(config, { connectionTimeoutMs: 1000, retries: 0, logLevel: logLevel.NOTHING }).admin();
      try {
        await admin.connect();
        await admin.describeCluster();
      } finally {
        await admin.disconnect();
      }
    },
  };
}

/** The stack's broker, with the project's topics (no namespace) created whenever it is up. */
export const kafkaServer: LocalServer = {
  ...kafkaBroker({
    name: 'kafka',
    port: PORTS.kafka,
    controllerPort: PORTS.kafkaController,
    workDir: join(runDir, 'kafka'),
    logFile: join(runDir, 'kafka.log'),
  }),

  async afterReady() {
    const config = kafkaConfig(localStackEnvironment());
    const admin = createKafkaClient(config).admin();
    try {
      await admin.connect();
      await ensureTopics(admin, ALL_TOPICS, config);
    } finally {
      await admin.disconnect();
    }
  },
};
