import { distributedProcesses } from './distributed-layout.ts';
import { freePort, type Supervisor } from './supervisor.ts';

/** A cold start compiles each process's TypeScript on two CPUs at once. */
const READY_TIMEOUT_MS = 180_000;

/**
 * Starts the distributed layout under `supervisor`: the API first and alone at
 * `apiUrl` (a new store's one-time key is printed by the process that creates
 * it), then every other process, `copies` of each processor, each answering
 * its health on a free loopback port. Resolves once every process is ready;
 * answers how many there are.
 */
export async function startDistributed(supervisor: Supervisor, env: NodeJS.ProcessEnv, copies: number, apiUrl: string): Promise<number> {
  const [api, ...workers] = distributedProcesses(copies);
  if (api === undefined) throw new Error('the layout names no api process');
  await supervisor.start({ name: api.name, main: api.main, env, baseUrl: apiUrl });
  await supervisor.ready(READY_TIMEOUT_MS, [api.name]);
  for (const worker of workers) {
    const port = await freePort();
    await supervisor.start({
      name: worker.name,
      main: worker.main,
      env: { ...env, PROGIMAGE_HTTP_HOST: '127.0.0.1', PROGIMAGE_HTTP_PORT: String(port) },
      baseUrl: `http://127.0.0.1:${port}`,
    });
  }
  await supervisor.ready(READY_TIMEOUT_MS);
  return 1 + workers.length;
}
