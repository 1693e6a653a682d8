import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from '../lib/logger.ts';
import type { Job } from './job.ts';
import { latestRun, runId, type JobRun, type JobRunsCollection } from './job-runs.ts';

export type Trigger = JobRun['trigger'];

/** Why a run was not started. */
export type Refusal =
  | { readonly reason: 'running'; readonly run: JobRun }
  | { readonly reason: 'already-run-for-slot'; readonly run: JobRun }
  | { readonly reason: 'taken-by-another-scheduler' };

export type StartResult =
  { readonly started: true; readonly run: JobRun; readonly finished: Promise<JobRun> } | ({ readonly started: false } & Refusal);

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/**
 * Starts runs of the jobs under a lease in the catalog store: a job runs on
 * one scheduler at a time, a run that outlasts its interval is not overlapped
 * by the next, and each scheduled time is run once however many schedulers
 * fire for it.
 */
export class JobRunner {
  readonly #runs: JobRunsCollection;
  readonly #jobs: ReadonlyMap<string, Job>;
  readonly #leaseMs: number;
  readonly #log: Logger;
  readonly #holder = `${hostname()}/${process.pid}/${randomUUID().slice(0, 8)}`;
  readonly #stopping = new AbortController();
  readonly #inFlight = new Set<Promise<JobRun>>();

  constructor(options: { runs: JobRunsCollection; jobs: readonly Job[]; leaseMs: number; log: Logger }) {
    this.#runs = options.runs;
    this.#jobs = new Map(options.jobs.map((job) => [job.name, job]));
    this.#leaseMs = options.leaseMs;
    this.#log = options.log;
  }

  get jobs(): readonly Job[] {
    return [...this.#jobs.values()];
  }

  job(name: string): Job | undefined {
    return this.#jobs.get(name);
  }

  /** Claims the job's next run and starts it; `finished` resolves with the recorded run, succeeded or failed. */
  async start(name: string, trigger: Trigger, slot: Date = new Date()): Promise<StartResult> {
    const job = this.#jobs.get(name);
    if (job === undefined) throw new Error(`no job named ${name}`);
    const slotTime = slot.toISOString();
    const now = new Date();
    const latest = await latestRun(this.#runs, name);
    if (latest !== null) {
      const { run, version } = latest;
      if (run.outcome === 'running' && run.expiresAt > now.toISOString()) return { started: false, reason: 'running', run };
      if (trigger === 'schedule' && run.slot >= slotTime) return { started: false, reason: 'already-run-for-slot', run };
      if (run.outcome === 'running') await this.#markAbandoned(run, version);
    }
    const run: JobRun = {
      id: runId(name, (latest?.run.seq ?? 0) + 1),
      job: name,
      seq: (latest?.run.seq ?? 0) + 1,
      trigger,
      slot: slotTime,
      holder: this.#holder,
      startedAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + this.#leaseMs).toISOString(),
      outcome: 'running',
      counts: {},
    };
    const version = await this.#runs.save(run, null);
    if (version === null) return { started: false, reason: 'taken-by-another-scheduler' };
    const finished = this.#execute(job, run, version);
    this.#inFlight.add(finished);
    void finished.finally(() => this.#inFlight.delete(finished));
    return { started: true, run, finished };
  }

  /** Asks running jobs to stop and waits until their runs are recorded. */
  async stop(): Promise<void> {
    this.#stopping.abort(new Error('the scheduler is stopping'));
    await Promise.all(this.#inFlight);
  }

  async #execute(job: Job, claimed: JobRun, claimedVersion: number): Promise<JobRun> {
    const log = this.#log.child({ job: job.name, run: claimed.seq });
    let run = claimed;
    let version: number | null = claimedVersion;
    const counts: Record<string, number> = {};
    /** Saves the run unless another writer changed it (the lease was lost: nothing more is written). */
    const save = async (next: JobRun): Promise<void> => {
      if (version === null) return;
      version = await this.#runs.save(next, version);
      if (version === null) log.warn('the run was changed by another scheduler: its lease had expired');
      else run = next;
    };
    let renewing = Promise.resolve();
    const renew = setInterval(() => {
      renewing = renewing
        .then(() => save({ ...run, counts: { ...counts }, expiresAt: new Date(Date.now() + this.#leaseMs).toISOString() }))
        .catch((error: unknown) => {
          log.warn({ err: error }, 'renewing the lease failed');
        });
    }, this.#leaseMs / 3);
    log.info({ trigger: run.trigger, slot: run.slot }, 'job started');
    let error: string | undefined;
    try {
      await job.run({
        log,
        signal: this.#stopping.signal,
        count: (name, by = 1) => {
          counts[name] = (counts[name] ?? 0) + by;
        },
      });
    } catch (failure) {
      error = messageOf(failure);
    } finally {
      clearInterval(renew);
      await renewing;
    }
    const finishedAt = new Date().toISOString();
    const outcome = error === undefined ? 'succeeded' : 'failed';
    await save({ ...run, counts, finishedAt, outcome, ...(error === undefined ? {} : { error }) }).catch((saveError: unknown) => {
      log.error({ err: saveError }, 'recording the end of the run failed');
    });
    if (error === undefined) log.info({ counts }, 'job succeeded');
    else log.error({ counts, error }, 'job failed');
    return { ...run, counts, finishedAt, outcome, ...(error === undefined ? {} : { error }) };
  }

  /** A run whose scheduler stopped renewing its lease: recorded as failed before the next one starts. */
  async #markAbandoned(run: JobRun, version: number): Promise<void> {
    await this.#runs.save(
      { ...run, outcome: 'failed', finishedAt: run.expiresAt, error: `abandoned: ${run.holder} stopped renewing its lease` },
      version,
    );
  }
}
