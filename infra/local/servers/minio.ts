import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { LocalServer } from '../server.ts';
import { HOST, localStackEnvironment, PORTS, runDir } from '../settings.ts';
import { requireTool, run } from '../tools.ts';
import { installDir, installOnce } from './install-cache.ts';

/**
 * MinIO publishes no semantic versions to the Go module proxy, only
 * pseudo-versions of its commits; this one is commit 7aac2a2c5b7c (2026-02-12).
 */
const VERSION = 'v0.0.0-20260212201848-7aac2a2c5b7c';
const home = installDir('minio', VERSION);
const binary = join(home, 'bin', 'minio');
const dataDir = join(runDir, 'minio', 'data');
const logFile = join(runDir, 'minio.log');

export const minioServer: LocalServer = {
  name: 'minio',
  version: VERSION,
  logFile,
  address: `http://${HOST}:${PORTS.minio}`,
  ports: [PORTS.minio, PORTS.minioConsole],
  startTimeoutMs: 60_000,

  async install() {
    const go = requireTool('go', 'MinIO is built from source with Go 1.24 or newer (https://go.dev/doc/install)');
    // MinIO's documented source install: go install github.com/minio/minio@<version>.
    await installOnce(home, join('bin', 'minio'), async (scratch) => {
      await run(go, ['install', `github.com/minio/minio@${VERSION}`], {
        env: { ...process.env, GOBIN: join(scratch, 'bin') },
        logFile: join(runDir, 'minio-install.log'),
      });
    });
  },

  prepare() {
    mkdirSync(dataDir, { recursive: true });
    return Promise.resolve();
  },

  process() {
    const env = localStackEnvironment();
    return {
      command: binary,
      args: ['server', dataDir, '--address', `${HOST}:${PORTS.minio}`, '--console-address', `${HOST}:${PORTS.minioConsole}`],
      env: {
        ...process.env,
        MINIO_ROOT_USER: env.PROGIMAGE_S3_ACCESS_KEY,
        MINIO_ROOT_PASSWORD: env.PROGIMAGE_S3_SECRET_KEY,
        MINIO_UPDATE: 'off',
      },
    };
  },

  async checkHealth() {
    const response = await fetch(`http://${HOST}:${PORTS.minio}/minio/health/live`, {
      signal: AbortSignal.timeout(2000),
    });
    if (!response.ok) throw new Error(`MinIO liveness answered ${response.status}`);
  },
};
