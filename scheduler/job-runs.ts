import { z } from 'zod';
import type { CatalogStore, DocumentCollection } from '../lib/ports/catalog-store.ts';

const at = z.iso.datetime();

/** Job names appear in ids and URLs. */
export const jobNameSchema = z.string().regex(/^[a-z][a-z0-9-]{0,39}$/);

/**
 * One run of a job, and the lease its scheduler holds while it runs. Runs of
 * a job are numbered 1, 2, 3 …; a run is started by inserting the document of
 * the next number, so of two schedulers only one can start it (an insert of
 * an existing id fails on every store, FerretDB included, where updates
 * filtered on a version are not atomic across clients). Nobody but its holder
 * writes a run while its lease lasts.
 */
export const jobRunSchema = z.object({
  id: z.string(),
  job: jobNameSchema,
  seq: z.number().int().positive(),
  trigger: z.enum(['schedule', 'manual']),
  /** The scheduled time the run is for; a manual run's is the time it was asked for. */
  slot: at,
  /** The scheduler process running it. */
  holder: z.string(),
  startedAt: at,
  /** The lease: renewed while the run lasts; past it, the run counts as abandoned. */
  expiresAt: at,
  finishedAt: at.optional(),
  outcome: z.enum(['running', 'succeeded', 'failed']),
  counts: z.record(z.string(), z.number()),
  error: z.string().optional(),
});
export type JobRun = z.infer<typeof jobRunSchema>;

export type JobRunsCollection = DocumentCollection<JobRun>;

export const openJobRuns = (store: CatalogStore): Promise<JobRunsCollection> =>
  store.collection({ name: 'job_runs', schema: jobRunSchema, indexes: [['job']] });

/** Zero-padded so that ids sort in run order. */
export const runId = (job: string, seq: number): string => `${job}#${String(seq).padStart(10, '0')}`;

export interface LatestRun {
  readonly run: JobRun;
  readonly version: number;
}

/** The job's last run, or null before its first. */
export async function latestRun(runs: JobRunsCollection, job: string): Promise<LatestRun | null> {
  // Runs are never deleted, so their count is the last number; a count read before a
  // concurrent insert is caught up by looking for the next numbers.
  let seq = await runs.count({ job });
  let latest = seq === 0 ? null : await runs.get(runId(job, seq));
  for (;;) {
    const next = await runs.get(runId(job, seq + 1));
    if (next === null) break;
    latest = next;
    seq += 1;
  }
  return latest === null ? null : { run: latest.document, version: latest.version };
}

/** The job's last `limit` runs, newest first. */
export async function recentRuns(runs: JobRunsCollection, job: string, limit: number): Promise<JobRun[]> {
  const latest = await latestRun(runs, job);
  if (latest === null) return [];
  const after = runId(job, Math.max(0, latest.run.seq - limit));
  return (await runs.find({ where: { job }, after, limit })).reverse();
}
