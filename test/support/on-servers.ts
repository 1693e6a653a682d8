import { startFixtureServer, type FixtureServer } from './fixture-server.ts';
import type { RunningProgImage } from './progimage.ts';
import { startSecured } from './secured.ts';

/** Every service on the real servers (Kafka, MinIO, FerretDB, clamd) in a deployment of its own, and a fixture server it may fetch from. */
export interface ProgImageOnServers {
  readonly progimage: RunningProgImage;
  readonly fixtures: FixtureServer;
  stop(): Promise<void>;
}

export async function startOnServers(label: string, extra: Readonly<Record<string, string>> = {}): Promise<ProgImageOnServers> {
  const fixtures = await startFixtureServer();
  const secured = await startSecured(label, { PROGIMAGE_FETCH_ALLOW_HOSTS: fixtures.host, ...extra });
  return {
    progimage: secured.running,
    fixtures,
    async stop() {
      await secured.stop();
      await fixtures.close();
    },
  };
}
