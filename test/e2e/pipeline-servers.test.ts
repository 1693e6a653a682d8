import { registerInfectionFlows, registerPipelineFlows } from '../support/pipeline-flows.ts';
import { startProgImage } from '../support/progimage.ts';
import { freshDatabase, serverConfig } from '../support/servers.ts';
import { localStackEnvironment } from '../../infra/local/settings.ts';

/**
 * One catalog database for every host this file starts: hosts share the Kafka
 * consumer groups, so whichever host's catalog projects an event must write
 * where the others read.
 */
const database = freshDatabase('e2e');

/** The whole pipeline on the real servers: Kafka, MinIO, FerretDB (MongoDB protocol) and clamd. */
async function startOnServers() {
  await serverConfig();
  const env = process.env.PROGIMAGE_KAFKA_BROKERS === undefined ? { ...process.env, ...localStackEnvironment() } : process.env;
  return startProgImage({
    ...env,
    PROGIMAGE_SCAN: 'on',
    PROGIMAGE_MAX_UPLOAD_BYTES: String(30 * 1024 * 1024),
    PROGIMAGE_MONGODB_DATABASE: database,
  });
}

registerPipelineFlows('servers', startOnServers);
registerInfectionFlows('servers', startOnServers);
