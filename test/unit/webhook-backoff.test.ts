import test from 'ava';
import { loadConfig } from '../../lib/config/index.ts';
import { retryDelayMs } from '../../webhooks/backoff.ts';

const { retryScheduleMs } = loadConfig({}).webhooks;
const SECOND = 1000;
const HOUR = 3600 * SECOND;

/** Every wait of the default schedule, with the jitter at `random`. */
const waits = (random: number): (number | null)[] =>
  Array.from({ length: retryScheduleMs.length + 1 }, (_, index) => retryDelayMs(retryScheduleMs, index + 1, () => random));

test('by default the first retry comes within 5 s, no wait is shorter than the one before, and retries last about a day', (t) => {
  const scheduled = waits(0).slice(0, -1);
  t.is(scheduled[0], 5 * SECOND);
  t.deepEqual(
    scheduled,
    [...scheduled].sort((a, b) => (a ?? 0) - (b ?? 0)),
  );
  const total = retryScheduleMs.reduce((sum, wait) => sum + wait, 0);
  t.true(total > 20 * HOUR && total <= 24 * HOUR, `${total / HOUR} h of retries`);
});

test('after the last wait of the schedule a delivery is given up', (t) => {
  t.is(waits(0).at(-1), null);
  t.is(retryDelayMs([1000, 2000], 3), null);
  t.is(
    retryDelayMs([1000, 2000], 2, () => 0),
    2000,
  );
});

test('jitter brings a retry up to a tenth earlier, never later', (t) => {
  for (const random of [0, 0.25, 0.5, 0.999]) {
    for (const [index, wait] of waits(random).slice(0, -1).entries()) {
      const scheduled = retryScheduleMs[index] ?? 0;
      t.true(
        wait !== null && wait <= scheduled && wait >= scheduled * 0.9,
        `wait ${index + 1} at random ${random}: ${wait} of ${scheduled}`,
      );
    }
  }
});

test('a schedule is whole seconds from 1 to 86400, at most 50 of them; a bad one names the setting', (t) => {
  t.deepEqual(loadConfig({ PROGIMAGE_WEBHOOK_RETRY_SCHEDULE: '1, 2,3' }).webhooks.retryScheduleMs, [1000, 2000, 3000]);
  for (const bad of ['0', '1,x', '86401', Array(51).fill('1').join(',')]) {
    t.throws(() => loadConfig({ PROGIMAGE_WEBHOOK_RETRY_SCHEDULE: bad }), { message: /PROGIMAGE_WEBHOOK_RETRY_SCHEDULE/ }, bad);
  }
});
