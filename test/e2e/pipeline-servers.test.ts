import test from 'ava';
import { registerInfectionFlows, registerPipelineFlows } from '../support/pipeline-flows.ts';
import { startProgImage } from '../support/progimage.ts';
import { registerTransformFlows } from '../support/transform-flows.ts';
import { serverConfig } from '../support/servers.ts';
import { isolatedDeployment, type IsolatedDeployment } from '../../infra/local/deployment.ts';
import { localStackEnvironment } from '../../infra/local/settings.ts';

/**
 * One deployment (Kafka namespace and catalog database) for every host this
 * file starts: within it hosts share consumer groups, so whichever host's
 * catalog projects an event must write where the others read.
 */
let deployment: Promise<IsolatedDeployment> | undefined;
const ourDeployment = () => (deployment ??= serverConfig().then((servers) => isolatedDeployment('e2e', servers)));

/** The whole pipeline on the real servers: Kafka, MinIO, FerretDB (MongoDB protocol) and clamd. */
async function startOnServers(extra: Readonly<Record<string, string>> = {}) {
  const { env: isolation } = await ourDeployment();
  const env = process.env.PROGIMAGE_KAFKA_BROKERS === undefined ? { ...process.env, ...localStackEnvironment() } : process.env;
  return startProgImage({
    ...env,
    ...isolation,
    PROGIMAGE_SCAN: 'on',
    PROGIMAGE_MAX_UPLOAD_BYTES: String(30 * 1024 * 1024),
    ...extra,
  });
}

registerPipelineFlows('servers', startOnServers);
registerInfectionFlows('servers', startOnServers);
registerTransformFlows('servers', startOnServers, { largeBatch: false });

// The flows' own hooks stop the hosts, possibly at the same time: removal waits for them to leave their groups.
test.after.always(async () => {
  if (deployment !== undefined) await (await deployment).remove();
});
