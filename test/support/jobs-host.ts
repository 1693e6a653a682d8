import { randomUUID } from 'node:crypto';
import type { ExecutionContext } from 'ava';
import { isolatedDeployment, type IsolatedDeployment } from '../../infra/local/deployment.ts';
import { localStackEnvironment } from '../../infra/local/settings.ts';
import { startProgImage, type RunningProgImage } from './progimage.ts';
import { serverConfig, type ServerConfig } from './servers.ts';

/** The bearer token of the admin API of the hosts started here. */
export const ADMIN_TOKEN = `test-admin-${randomUUID()}`;

const EVERY_JOB_ON_DEMAND = {
  PROGIMAGE_SCHEDULE_SIGNATURES: 'off',
  PROGIMAGE_SCHEDULE_RESCAN: 'off',
  PROGIMAGE_SCHEDULE_EXPIRY: 'off',
  PROGIMAGE_SCHEDULE_ORPHANS: 'off',
  PROGIMAGE_SCHEDULE_DUPLICATES: 'off',
};

export interface JobsHost {
  readonly progimage: RunningProgImage;
  readonly servers: ServerConfig;
  readonly deployment: IsolatedDeployment;
}

/**
 * ProgImage on the real servers in a deployment of its own, scanning on, the
 * admin API on and every job run on demand only (the test runs them).
 * Stopped after the test; `afterStop` runs between the stop and the removal
 * of the deployment.
 */
export async function startJobsHost(
  t: ExecutionContext,
  label: string,
  extra: Readonly<Record<string, string>> = {},
  afterStop: (host: JobsHost) => Promise<void> = () => Promise.resolve(),
): Promise<JobsHost> {
  const servers = await serverConfig();
  const deployment = isolatedDeployment(label, servers);
  const env = process.env.PROGIMAGE_KAFKA_BROKERS === undefined ? { ...process.env, ...localStackEnvironment() } : process.env;
  const progimage = await startProgImage({
    ...env,
    ...deployment.env,
    PROGIMAGE_SCAN: 'on',
    PROGIMAGE_ADMIN_TOKEN: ADMIN_TOKEN,
    ...EVERY_JOB_ON_DEMAND,
    ...extra,
  });
  const host = { progimage, servers, deployment };
  t.teardown(async () => {
    await progimage.stop();
    await afterStop(host);
    await deployment.remove();
  });
  return host;
}
