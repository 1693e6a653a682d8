import { setTimeout as sleep } from 'node:timers/promises';
import test from 'ava';
import { pino } from 'pino';
import { BacklogSampler, backlogHealthOf, type PipelineState } from '../../lib/backlog/backlog-sampler.ts';
import {
  drainedPerSecond,
  expectedWaitSeconds,
  LONGEST_REPORTED_WAIT_SECONDS,
  LONGEST_RETRY_AFTER_SECONDS,
  reportedWait,
  retryAfterSeconds,
  smoothedRate,
  SMOOTHING,
  stalledWaitSeconds,
} from '../../lib/backlog/drain-rate.ts';
import type { PipelineImages } from '../../lib/backlog/pipeline-images.ts';
import { createLogger } from '../../lib/logger.ts';
import type { Where } from '../../lib/ports/catalog-store.ts';

const at = (seconds: number, total: number, inFlight: number) => ({ at: seconds * 1000, total, inFlight });

test('the drain rate is the images that left the pipeline over the window: the new records less what the backlog grew by', (t) => {
  t.is(drainedPerSecond(at(0, 100, 40), at(10, 150, 60)), 3, '50 new, backlog +20: 30 left in 10 s');
  t.is(drainedPerSecond(at(0, 100, 40), at(5, 100, 30)), 2, 'nothing new, backlog -10 in 5 s');
  t.is(drainedPerSecond(at(0, 100, 40), at(5, 120, 60)), 0, 'every new image still in flight: a backlog that did not drain');
});

test('a window in which the pipeline had nothing to do and did nothing measures nothing', (t) => {
  t.is(drainedPerSecond(at(0, 100, 0), at(5, 100, 0)), null);
  t.is(drainedPerSecond(at(0, 100, 0), at(5, 103, 3)), null, 'images arrived, none left yet: not a pace either');
  t.is(drainedPerSecond(at(0, 100, 0), at(5, 110, 0)), 2, 'arrived and left within the window: that is a pace');
  t.is(drainedPerSecond(at(5, 100, 4), at(5, 110, 0)), null, 'no time passed');
});

test('the smoothed rate starts at the first measure, then moves towards each new one by SMOOTHING', (t) => {
  t.is(smoothedRate(null, null), null);
  t.is(smoothedRate(null, 4), 4);
  t.is(smoothedRate(4, null), 4, 'an idle window keeps the rate');
  t.is(smoothedRate(4, 0), (1 - SMOOTHING) * 4);
  let rate: number | null = null;
  for (let window = 0; window < 20; window++) rate = smoothedRate(rate, 10);
  t.is(rate, 10);
});

test('the expected wait is the backlog over the rate: nothing when empty, unknown before a rate, endless when nothing drains', (t) => {
  t.is(expectedWaitSeconds(0, null), 0);
  t.is(expectedWaitSeconds(600, 2.5), 240);
  t.is(expectedWaitSeconds(3, null), null);
  t.is(expectedWaitSeconds(3, 0), Infinity);
});

test('before anything has drained, the wait is at least the backlog times the time it stood still', (t) => {
  t.is(stalledWaitSeconds(at(0, 100, 3), at(4, 102, 5)), 20);
  t.is(stalledWaitSeconds(at(0, 100, 3), at(0, 100, 3)), 0);
});

test('a wait is told in whole seconds, at most a day', (t) => {
  t.is(reportedWait(null), null);
  t.is(reportedWait(0), 0);
  t.is(reportedWait(240.2), 241);
  t.is(reportedWait(Infinity), LONGEST_REPORTED_WAIT_SECONDS);
});

test('a tenant over its limit is told to come back when its excess has drained at its share of the rate, from 1 s to the longest', (t) => {
  t.is(retryAfterSeconds({ excess: 1, tenantInFlight: 10, inFlight: 100, rate: 2 }), 5, '1 image at a tenth of 2/s');
  t.is(retryAfterSeconds({ excess: 1, tenantInFlight: 10, inFlight: 10, rate: 50 }), 1, 'at least a second');
  t.is(retryAfterSeconds({ excess: 5, tenantInFlight: 10, inFlight: 1000, rate: 1 }), LONGEST_RETRY_AFTER_SECONDS, 'at most the longest');
  t.is(
    retryAfterSeconds({ excess: 1, tenantInFlight: 2, inFlight: 0, rate: 1 }),
    1,
    'a tenant counted ahead of the last sample owns the whole pipeline',
  );
  t.is(retryAfterSeconds({ excess: 1, tenantInFlight: 2, inFlight: 2, rate: null }), LONGEST_RETRY_AFTER_SECONDS, 'no rate yet');
  t.is(retryAfterSeconds({ excess: 1, tenantInFlight: 2, inFlight: 2, rate: 0 }), LONGEST_RETRY_AFTER_SECONDS, 'nothing drains');
});

const state = (inFlight: number, drainPerSecond: number | null): PipelineState => ({
  backlog: { scan: inFlight, strip: 0, compress: 0, variants: 0 },
  inFlight,
  drainPerSecond,
  expectedWaitSeconds: expectedWaitSeconds(inFlight, drainPerSecond),
  at: 0,
});

test('the pipeline is degraded, not failing, while its expected wait passes the threshold', (t) => {
  t.is(backlogHealthOf(null, 600), undefined, 'not counted yet');
  t.is(backlogHealthOf(state(3, null), 600), undefined, 'no rate yet');
  t.is(backlogHealthOf(state(1000, 2), 600), undefined, '500 s');
  t.regex(
    backlogHealthOf(state(1500, 2), 600)?.degraded ?? '',
    /^1500 images in the pipeline and they drain at 2\.00\/s, in about 750 s: past 600 s$/,
  );
  t.regex(
    backlogHealthOf({ ...state(3, null), expectedWaitSeconds: 900 }, 600)?.degraded ?? '',
    /^3 images in the pipeline and none has drained yet: at least 900 s: past 600 s$/,
  );
});

/**
 * The images collection as the sampler counts it: a status → count table, and
 * a total (the images not in the table are ready). It answers a count by
 * status for the statuses asked for only, as a store does. `reads` counts the
 * reads of the collection, `asked` the conditions of each count by status.
 */
function countedImages(counts: { total: number; byStatus: Record<string, number>; reads?: number; asked?: Where[] }): PipelineImages {
  const read = <R>(result: () => R): Promise<R> => {
    counts.reads = (counts.reads ?? 0) + 1;
    return Promise.resolve(result());
  };
  return {
    estimatedCount: () => read(() => counts.total),
    countBy: (field, where) =>
      read(() => {
        if (field !== 'status' || where?.status === undefined) throw new Error(`unexpected countBy(${field}, ${JSON.stringify(where)})`);
        (counts.asked ??= []).push(where);
        const listed = Object.values(counts.byStatus).reduce((sum, count) => sum + count, 0);
        const all = new Map<string, number>([...Object.entries(counts.byStatus), ['ready', counts.total - listed]]);
        const wanted = new Set(where.status as readonly string[]);
        return new Map([...all].filter(([status]) => wanted.has(status)));
      }),
  } as Partial<PipelineImages> as PipelineImages;
}

test("the sampler counts the images in flight by status, and takes the total from the store's estimate: never a read of every image", async (t) => {
  const counts = {
    total: 20,
    byStatus: { uploaded: 2, unscanned: 1, clean: 1, stripped: 3, compressed: 4 },
    reads: 0,
    asked: [] as Where[],
  };
  const sampler = new BacklogSampler(countedImages(counts), { intervalMs: 1000, log: createLogger('test', 'silent'), now: () => 0 });
  t.like(await sampler.sample(), { backlog: { scan: 2, strip: 2, compress: 3, variants: 4 }, inFlight: 11 });
  t.is(counts.reads, 2);
  t.deepEqual(
    counts.asked.map((where) => [...(where.status as readonly string[])].sort()),
    [['clean', 'compressed', 'stripped', 'unscanned', 'uploaded']],
    'only the statuses of images in flight: the index on the status reads those alone',
  );
});

test('the sampler measures the drain from one count to the next, and until the first image drains, from the first count with a backlog', async (t) => {
  let now = 0;
  const counts = { total: 10, byStatus: {} as Record<string, number> };
  const sampler = new BacklogSampler(countedImages(counts), { intervalMs: 1000, log: createLogger('test', 'silent'), now: () => now });
  t.like(await sampler.sample(), { inFlight: 0, drainPerSecond: null, expectedWaitSeconds: 0 });

  counts.total = 14;
  counts.byStatus = { uploaded: 3, clean: 1 };
  now = 1000;
  t.like(
    await sampler.sample(),
    { backlog: { scan: 3, strip: 1, compress: 0, variants: 0 }, inFlight: 4, drainPerSecond: null, expectedWaitSeconds: null },
    'arrivals only: no pace yet',
  );
  now = 3000;
  t.like(await sampler.sample(), { drainPerSecond: null, expectedWaitSeconds: 8 }, 'nothing drained for 2 s: at least 4 × 2 s');
  now = 6000;
  t.like(await sampler.sample(), { drainPerSecond: null, expectedWaitSeconds: 20 }, 'still nothing, 5 s since the backlog stood');

  counts.byStatus = { uploaded: 1, clean: 1 };
  now = 7000;
  t.like(await sampler.sample(), { inFlight: 2, drainPerSecond: 2 / 6, expectedWaitSeconds: 6 }, '2 drained in the 6 s since it stood');
  counts.byStatus = {};
  now = 8000;
  t.like(await sampler.sample(), { inFlight: 0, drainPerSecond: SMOOTHING * 2 + (1 - SMOOTHING) * (2 / 6), expectedWaitSeconds: 0 });
});

/**
 * The images of `countedImages` behind a store whose counts take `ms`, and that
 * can be closed: a count still under way when it closes fails, as the MongoDB
 * driver's does ("Cannot use a session that has ended").
 */
function closableImages(counts: { total: number; byStatus: Record<string, number>; reads?: number }, ms: number) {
  const images = countedImages(counts);
  let closed = false;
  const slow = {
    ...images,
    countBy: async (field, where) => {
      const counted = images.countBy(field, where);
      await sleep(ms);
      if (closed) throw new Error('Cannot use a session that has ended');
      return counted;
    },
  } as PipelineImages;
  return {
    images: slow,
    close: () => {
      closed = true;
    },
  };
}

test('a sampler stopped while a count is under way waits for it and counts no more, so the store can close after it without a warning', async (t) => {
  const counts = { total: 5, byStatus: { uploaded: 2 }, reads: 0 };
  const store = closableImages(counts, 30);
  const warnings: string[] = [];
  const log = pino({ level: 'warn' }, { write: (line: string) => warnings.push(line) });
  const sampler = new BacklogSampler(store.images, { intervalMs: 10, log });
  sampler.start();
  t.is(counts.reads, 2, 'a count is under way (by status, and the total)');

  // As a process stops: the ingest API's stop, then the catalog store closes.
  await sampler.stop();
  store.close();
  t.like(sampler.current(), { inFlight: 2 }, 'the count under way ended before stop did');

  await sleep(100);
  t.is(counts.reads, 2, 'no count after stop');
  t.deepEqual(warnings, []);
});
