import { isolatedDeployment } from '../../infra/local/deployment.ts';
import { localStackEnvironment } from '../../infra/local/settings.ts';
import { startFixtureServer, type FixtureServer } from './fixture-server.ts';
import { startProgImage, type RunningProgImage } from './progimage.ts';
import { serverConfig } from './servers.ts';

/** Every service on the real servers (Kafka, MinIO, FerretDB, clamd) in a deployment of its own, and a fixture server it may fetch from. */
export interface ProgImageOnServers {
  readonly progimage: RunningProgImage;
  readonly fixtures: FixtureServer;
  stop(): Promise<void>;
}

export async function startOnServers(label: string, extra: Readonly<Record<string, string>> = {}): Promise<ProgImageOnServers> {
  const deployment = isolatedDeployment(label, await serverConfig());
  const stack = process.env.PROGIMAGE_KAFKA_BROKERS === undefined ? { ...process.env, ...localStackEnvironment() } : process.env;
  const fixtures = await startFixtureServer();
  const progimage = await startProgImage({
    ...stack,
    ...deployment.env,
    PROGIMAGE_SCAN: 'on',
    PROGIMAGE_FETCH_ALLOW_HOSTS: fixtures.host,
    ...extra,
  });
  return {
    progimage,
    fixtures,
    async stop() {
      await progimage.stop();
      await fixtures.close();
      await deployment.remove();
    },
  };
}
