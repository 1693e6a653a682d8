import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { isolatedDeployment } from '../../infra/local/deployment.ts';
import { localStackEnvironment } from '../../infra/local/settings.ts';
import type { ServiceFactory } from '../../lib/service/host.ts';
import { ALL_SERVICES } from '../../services.ts';
import { startProgImage, type RunningProgImage } from './progimage.ts';
import { serverConfig } from './servers.ts';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** ProgImage on the real servers, in a deployment of its own, with the settings of `admin` calls beside it. */
export interface SecuredProgImage {
  readonly running: RunningProgImage;
  /** The settings of its services, for `npm run admin` against the same catalog store. */
  readonly env: Readonly<Record<string, string | undefined>>;
  stop(): Promise<void>;
}

export async function startSecured(
  label: string,
  extra: Readonly<Record<string, string>> = {},
  services: readonly ServiceFactory[] = ALL_SERVICES,
): Promise<SecuredProgImage> {
  const deployment = isolatedDeployment(label, await serverConfig());
  const stack = process.env.PROGIMAGE_KAFKA_BROKERS === undefined ? { ...process.env, ...localStackEnvironment() } : process.env;
  const env = { ...stack, ...deployment.env, PROGIMAGE_SCAN: 'on', ...extra };
  const running = await startProgImage(env, services);
  return {
    running,
    env,
    async stop() {
      await running.stop();
      await deployment.remove();
    },
  };
}

/** `npm run admin -- ...args` as an operator runs it; resolves to its standard output. */
export async function admin(env: Readonly<Record<string, string | undefined>>, ...args: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'admin/cli.ts', ...args], {
    cwd: REPO_ROOT,
    env: { ...env, PROGIMAGE_LOG_LEVEL: 'warn' },
  });
  return stdout;
}

/** The API key an admin command printed. */
export function printedKey(output: string): string {
  const key = /pik_[A-Za-z0-9_-]{32,}/.exec(output)?.[0];
  if (key === undefined) throw new Error(`no API key in:\n${output}`);
  return key;
}
