import type { Logger } from '../lib/logger.ts';

/** What a run did, by name: images examined, requests published … */
export type JobCounts = Readonly<Record<string, number>>;

export interface JobContext {
  readonly log: Logger;
  /** Aborted when the scheduler stops: a job stops at its next safe point. */
  readonly signal: AbortSignal;
  /** Counts so far, recorded with the run if it fails half-way. */
  readonly count: (name: string, by?: number) => void;
}

/** A scheduled job: what it does, and when (null: on demand only, or at start). */
export interface Job {
  readonly name: string;
  readonly description: string;
  readonly schedule: string | null;
  /** Also run whenever a scheduler starts (recorded as a scheduled run): a catch-up that is harmless to repeat. */
  readonly runsAtStart?: boolean;
  run(context: JobContext): Promise<void>;
}
