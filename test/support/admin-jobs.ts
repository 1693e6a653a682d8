import { z } from 'zod';
import { waitUntil } from '../../lib/wait.ts';
import { ADMIN_TOKEN_HEADER } from '../../lib/http/admin-token.ts';
import { json, request } from './api.ts';

export const runSchema = z.object({
  seq: z.number(),
  outcome: z.enum(['running', 'succeeded', 'failed']),
  counts: z.record(z.string(), z.number()),
  error: z.string().optional(),
  links: z.object({ self: z.string() }),
});
export type RunJson = z.infer<typeof runSchema>;

/** Starts a run of `job` through the admin API and resolves with the recorded run once it ended. */
export async function runJob(baseUrl: string, token: string, job: string): Promise<RunJson> {
  const headers = { [ADMIN_TOKEN_HEADER]: token };
  const reply = await request(`${baseUrl}/v1/admin/jobs/${job}/runs`, { method: 'POST', headers });
  if (reply.status !== 202) throw new Error(`POST ${job} run answered ${reply.status}: ${reply.bytes.toString('utf8')}`);
  const { links } = runSchema.parse(json(reply));
  return waitUntil(
    async () => {
      const run = runSchema.parse(json(await request(`${baseUrl}${links.self}`, { headers })));
      return run.outcome === 'running' ? false : run;
    },
    { timeoutMs: 120_000, intervalMs: 200, description: `the ${job} run to end` },
  );
}
