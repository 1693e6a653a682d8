import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { registerInfectionFlows, registerPipelineFlows } from '../support/pipeline-flows.ts';
import { startProgImage } from '../support/progimage.ts';
import { registerTransformFlows } from '../support/transform-flows.ts';
import { serverConfig } from '../support/servers.ts';

/** `npm start`'s wiring: in-process bus, folder blobs, embedded catalog, under a fresh data dir. */
const startEmbedded = (extra: Readonly<Record<string, string>> = {}) =>
  startProgImage({
    PROGIMAGE_DATA_DIR: mkdtempSync(join(tmpdir(), 'progimage-e2e-')),
    PROGIMAGE_MAX_UPLOAD_BYTES: String(30 * 1024 * 1024),
    ...extra,
  });

registerPipelineFlows('embedded', () => startEmbedded());
registerTransformFlows('embedded', startEmbedded, { largeBatch: true });

// The embedded adapters with clamd reachable: scanning is "auto", so clamd is used.
registerInfectionFlows('embedded', async () => {
  const { scan } = await serverConfig();
  return startProgImage({
    PROGIMAGE_DATA_DIR: mkdtempSync(join(tmpdir(), 'progimage-e2e-')),
    PROGIMAGE_CLAMD_HOST: scan.clamd.host,
    PROGIMAGE_CLAMD_PORT: String(scan.clamd.port),
  });
});
