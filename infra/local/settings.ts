import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SettingName } from '../../lib/config/index.ts';

/**
 * Where the local stack lives: installed servers (keyed by version, reused
 * across clones) and the running stack's data, logs and pid files. Outside
 * the repository so that a fresh clone reuses what an earlier one installed.
 */
const cacheHome = process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache');
export const stackHome = resolve(cacheHome, 'progimage-stack');
export const serversDir = join(stackHome, 'servers');
export const runDir = join(stackHome, 'run');

/** Files of this folder that the servers load (Maven pom, test signatures). */
export const localInfraDir = fileURLToPath(new URL('.', import.meta.url));

/**
 * Loopback ports of the local stack: away from the servers' usual ports so a
 * system-wide install does not clash, and below Linux's ephemeral range
 * (32768–60999), from which a client's outgoing connection could otherwise
 * take a server's port while the server is stopped, and fail its restart.
 */
export const PORTS = {
  kafka: 19092,
  kafkaController: 19093,
  minio: 19000,
  minioConsole: 19001,
  ferretdb: 17017,
  ferretdbDebug: 17018,
  clamd: 13310,
} as const;

export const HOST = '127.0.0.1';

const minioCredentials = {
  accessKey: process.env.PROGIMAGE_S3_ACCESS_KEY ?? 'progimage-local',
  secretKey: process.env.PROGIMAGE_S3_SECRET_KEY ?? 'progimage-local-secret',
};

/** The ProgImage settings that point a service (or a test) at the local stack. */
export function localStackEnvironment(): Partial<Record<SettingName, string>> {
  return {
    PROGIMAGE_KAFKA_BROKERS: `${HOST}:${PORTS.kafka}`,
    PROGIMAGE_KAFKA_TOPIC_PARTITIONS: '3',
    PROGIMAGE_S3_ENDPOINT: `http://${HOST}:${PORTS.minio}`,
    PROGIMAGE_S3_ACCESS_KEY: minioCredentials.accessKey,
    PROGIMAGE_S3_SECRET_KEY: minioCredentials.secretKey,
    PROGIMAGE_MONGODB_URL: `mongodb://${HOST}:${PORTS.ferretdb}`,
    PROGIMAGE_CLAMD_HOST: HOST,
    PROGIMAGE_CLAMD_PORT: String(PORTS.clamd),
  };
}
