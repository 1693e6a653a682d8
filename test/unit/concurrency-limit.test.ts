import { setTimeout as sleep } from 'node:timers/promises';
import test from 'ava';
import { ConcurrencyLimit } from '../../lib/concurrency.ts';

test('no more tasks run at once than the limit, and the waiting ones start first come first served', async (t) => {
  const limit = new ConcurrencyLimit(2);
  let running = 0;
  let most = 0;
  const started: number[] = [];
  const task = (index: number) => async () => {
    started.push(index);
    running += 1;
    most = Math.max(most, running);
    await sleep(10);
    running -= 1;
    return index;
  };

  const results = await Promise.all([0, 1, 2, 3, 4].map((index) => limit.run(task(index))));

  t.deepEqual(results, [0, 1, 2, 3, 4]);
  t.is(most, 2);
  t.deepEqual(started, [0, 1, 2, 3, 4]);
});

test('a task that fails frees its place', async (t) => {
  const limit = new ConcurrencyLimit(1);

  await t.throwsAsync(
    limit.run(() => Promise.reject(new Error('broken image'))),
    { message: 'broken image' },
  );
  t.is(await limit.run(() => Promise.resolve('next')), 'next');
});

test('a limit is a whole number of at least one', (t) => {
  t.throws(() => new ConcurrencyLimit(0), { instanceOf: RangeError, message: /size: expected a whole number from 1, got 0/ });
});
