import test from 'ava';
import { setTimeout as sleep } from 'node:timers/promises';
import { runAtRate } from '../../bench/arrivals.ts';

test('runAtRate starts tasks at fixed intervals without waiting for the earlier ones', async (t) => {
  const begin = performance.now();
  const startedAt: number[] = [];
  let running = 0;
  let mostRunning = 0;
  const arrivals = await runAtRate(5, 20, async (index) => {
    startedAt.push(performance.now() - begin);
    // Synchronous work leaves the event loop's cached clock behind, so the next timer would fire early.
    const busyUntil = performance.now() + 5;
    while (performance.now() < busyUntil);
    running += 1;
    mostRunning = Math.max(mostRunning, running);
    await sleep(150);
    running -= 1;
    return index * 10;
  });
  t.deepEqual(
    arrivals.map((arrival) => arrival.result),
    [0, 10, 20, 30, 40],
  );
  t.true(mostRunning >= 3, `at most ${mostRunning} ran at once`);
  for (const [index, at] of startedAt.entries()) t.true(at >= index * 50, `task ${index} started at ${at} ms`);
  t.true(arrivals.every((arrival) => arrival.startLagMs >= 0));
});

test('runAtRate rejects at the first failure and starts nothing after it', async (t) => {
  const started: number[] = [];
  await t.throwsAsync(
    runAtRate(10, 50, async (index) => {
      started.push(index);
      if (index === 1) throw new Error('task 1 failed');
      await sleep(5);
      return index;
    }),
    { message: 'task 1 failed' },
  );
  await sleep(100);
  t.deepEqual(started, [0, 1]);
});

test('runAtRate refuses a rate that is not above 0', async (t) => {
  await t.throwsAsync(
    runAtRate(1, 0, () => Promise.resolve(1)),
    { instanceOf: RangeError },
  );
});
