import { registerInfectionFlows, registerPipelineFlows } from '../support/pipeline-flows.ts';
import type { RunningProgImage } from '../support/progimage.ts';
import { startSecured } from '../support/secured.ts';
import { registerTransformFlows } from '../support/transform-flows.ts';

/**
 * The whole pipeline on the real servers: Kafka, MinIO, FerretDB (MongoDB
 * protocol) and clamd; each host in a deployment of its own, removed when it stops.
 */
async function startOnServers(extra: Readonly<Record<string, string>> = {}): Promise<RunningProgImage> {
  const secured = await startSecured('e2e', { PROGIMAGE_MAX_UPLOAD_BYTES: String(30 * 1024 * 1024), ...extra });
  return { ...secured.running, stop: () => secured.stop() };
}

registerPipelineFlows('servers', startOnServers);
registerInfectionFlows('servers', startOnServers);
registerTransformFlows('servers', startOnServers, { largeBatch: false });
