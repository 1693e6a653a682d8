import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { MongoClient } from 'mongodb';
import { createEmbeddedCatalogStore } from '../../lib/adapters/embedded-catalog-store.ts';
import { createMongoCatalogStore } from '../../lib/adapters/mongo-catalog-store.ts';
import { createLogger } from '../../lib/logger.ts';
import type { CatalogStore } from '../../lib/ports/catalog-store.ts';
import type { Job } from '../../scheduler/job.ts';
import { JobRunner, type StartResult } from '../../scheduler/job-runner.ts';
import { openJobRuns, recentRuns, runId } from '../../scheduler/job-runs.ts';
import { serverConfig } from '../support/servers.ts';

const log = createLogger('test', 'silent');

/** A job that counts its runs and does not finish until released. */
function gatedJob(name = 'gated') {
  let runs = 0;
  let release = (): void => undefined;
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  const job: Job = {
    name,
    description: 'waits for its gate',
    schedule: null,
    async run({ count }) {
      runs += 1;
      count('items', 3);
      await gate;
    },
  };
  return {
    job,
    runs: () => runs,
    release: () => {
      release();
    },
  };
}

/** Two scheduler processes' views of one catalog store: on MongoDB two clients, embedded one store (it allows one process). */
interface TwoStores {
  readonly first: CatalogStore;
  readonly second: CatalogStore;
}

const adapters: Record<string, (t: ExecutionContext) => Promise<TwoStores>> = {
  async embedded(t) {
    const directory = await mkdtemp(join(tmpdir(), 'progimage-jobs-'));
    const store = await createEmbeddedCatalogStore(directory);
    t.teardown(async () => {
      await store.close();
      await rm(directory, { recursive: true, force: true });
    });
    return { first: store, second: store };
  },
  async mongodb(t) {
    const { mongo } = await serverConfig();
    const config = { ...mongo, database: `jobs_${randomUUID().replaceAll('-', '').slice(0, 16)}` };
    const [first, second] = await Promise.all([createMongoCatalogStore(config), createMongoCatalogStore(config)]);
    t.teardown(async () => {
      await Promise.all([first.close(), second.close()]);
      const client = new MongoClient(config.url);
      await client.db(config.database).dropDatabase();
      await client.close();
    });
    return { first, second };
  },
};

async function twoRunners(t: ExecutionContext, adapter: string, jobs: readonly Job[], leaseMs = 60_000) {
  const open = adapters[adapter];
  if (open === undefined) throw new Error(`no adapter ${adapter}`);
  const { first, second } = await open(t);
  const [runsA, runsB] = await Promise.all([openJobRuns(first), openJobRuns(second)]);
  const a = new JobRunner({ runs: runsA, jobs, leaseMs, log });
  const b = new JobRunner({ runs: runsB, jobs, leaseMs, log });
  t.teardown(() => Promise.all([a.stop(), b.stop()]).then(() => undefined));
  return { a, b, runs: runsA };
}

const started = (results: readonly StartResult[]) => results.filter((result) => result.started);

for (const adapter of Object.keys(adapters)) {
  test(`${adapter}: two schedulers firing at once for one scheduled time run the job once`, async (t) => {
    const gated = gatedJob();
    const { a, b } = await twoRunners(t, adapter, [gated.job]);
    const slot = new Date('2026-11-22T03:00:00Z');
    const results = await Promise.all(Array.from({ length: 10 }, (_, index) => (index % 2 === 0 ? a : b).start('gated', 'schedule', slot)));
    const winners = started(results);
    t.is(winners.length, 1);
    for (const result of results) {
      if (!result.started) t.true(['running', 'taken-by-another-scheduler'].includes(result.reason), result.reason);
    }
    gated.release();
    const [winner] = winners;
    if (winner?.started !== true) throw new Error('one run started');
    t.is((await winner.finished).outcome, 'succeeded');
    // Late firings for the same time (a replica whose clock runs behind) find it done.
    const late = await Promise.all([a.start('gated', 'schedule', slot), b.start('gated', 'schedule', slot)]);
    t.deepEqual(
      late.map((result) => (result.started ? 'started' : result.reason)),
      ['already-run-for-slot', 'already-run-for-slot'],
    );
    t.is(gated.runs(), 1);
  });

  test(`${adapter}: a run that outlasts its interval is not overlapped by the next one`, async (t) => {
    const gated = gatedJob();
    const { a, b, runs } = await twoRunners(t, adapter, [gated.job]);
    const first = await a.start('gated', 'schedule', new Date('2026-11-22T03:00:00Z'));
    if (!first.started) throw new Error(`the first run did not start: ${first.reason}`);
    const next = new Date('2026-11-22T03:05:00Z');
    for (const runner of [a, b]) {
      const overlapping = await runner.start('gated', 'schedule', next);
      t.false(overlapping.started);
      if (!overlapping.started) t.is(overlapping.reason, 'running');
    }
    t.is((await b.start('gated', 'manual')).started, false, 'nor by a run asked for by hand');
    gated.release();
    const recorded = await first.finished;
    t.is(recorded.outcome, 'succeeded');
    t.deepEqual(recorded.counts, { items: 3 });
    t.truthy(recorded.finishedAt);
    const after = await b.start('gated', 'schedule', next);
    t.true(after.started);
    if (after.started) await after.finished;
    const history = await recentRuns(runs, 'gated', 10);
    t.deepEqual(
      history.map((run) => [run.seq, run.outcome, run.slot]),
      [
        [2, 'succeeded', next.toISOString()],
        [1, 'succeeded', '2026-11-22T03:00:00.000Z'],
      ],
    );
  });

  test(`${adapter}: a failed run is recorded with its error and its counts so far`, async (t) => {
    const failing: Job = {
      name: 'failing',
      description: 'fails half-way',
      schedule: null,
      run({ count }) {
        count('done', 2);
        return Promise.reject(new Error('the mirror is down'));
      },
    };
    const { a, runs } = await twoRunners(t, adapter, [failing]);
    const result = await a.start('failing', 'manual');
    if (!result.started) throw new Error(result.reason);
    await result.finished;
    const [run] = await recentRuns(runs, 'failing', 1);
    t.like(run, { outcome: 'failed', error: 'the mirror is down', counts: { done: 2 }, trigger: 'manual' });
  });

  test(`${adapter}: the run of a scheduler that died is taken over once its lease expires`, async (t) => {
    const gated = gatedJob();
    const { a, runs } = await twoRunners(t, adapter, [gated.job]);
    const past = new Date(Date.now() - 60_000).toISOString();
    await runs.save(
      {
        id: runId('gated', 1),
        job: 'gated',
        seq: 1,
        trigger: 'schedule',
        slot: past,
        holder: 'dead-host/1',
        startedAt: past,
        expiresAt: past,
        outcome: 'running',
        counts: {},
      },
      null,
    );
    const result = await a.start('gated', 'schedule', new Date());
    t.true(result.started);
    gated.release();
    if (result.started) await result.finished;
    const [latest, abandoned] = await recentRuns(runs, 'gated', 2);
    t.like(latest, { seq: 2, outcome: 'succeeded' });
    t.like(abandoned, { seq: 1, outcome: 'failed', error: 'abandoned: dead-host/1 stopped renewing its lease' });
  });
}
