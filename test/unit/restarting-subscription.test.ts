import test from 'ava';
import { RestartingSubscription, type RunningConsumer, type StartConsumer } from '../../lib/kafka/restarting-subscription.ts';
import { waitUntil } from '../../lib/wait.ts';

/**
 * RestartingSubscription's own logic, with consumers that are plain objects:
 * when kafkajs leaves a consumer stopped for good, a new one takes over. The
 * Kafka restart it exists for is tested on the real broker in
 * test/faults/servers-down.test.ts.
 */

interface FakeConsumer extends RunningConsumer {
  readonly id: number;
  disconnected: boolean;
  /** Stops it as kafkajs does after a crash it will not restart from. */
  stopForGood(error: Error): void;
}

/** A StartConsumer whose starts succeed or fail as `outcomes` says (the last outcome repeats). */
function consumers(outcomes: readonly ('joins' | 'fails')[]) {
  const started: FakeConsumer[] = [];
  const start: StartConsumer = (attach, stoppedForGood) => {
    const consumer: FakeConsumer = {
      id: started.length,
      disconnected: false,
      disconnect: () => {
        consumer.disconnected = true;
        return Promise.resolve();
      },
      stopForGood: (error) => {
        consumer.disconnected = true;
        stoppedForGood(error);
      },
    };
    const outcome = outcomes[Math.min(started.length, outcomes.length - 1)];
    started.push(consumer);
    attach(consumer);
    return outcome === 'joins' ? Promise.resolve() : Promise.reject(new Error(`start ${consumer.id} failed`));
  };
  return { started, start };
}

const quietLog = { error: () => undefined, info: () => undefined };
const delays = { firstMs: 5, maxMs: 20 };
const until = (condition: () => boolean, description: string) =>
  waitUntil(() => condition(), { timeoutMs: 5_000, intervalMs: 2, description });

test('a consumer that stops for good is replaced by a new one; meanwhile the failure is reported, and cleared once it consumes', async (t) => {
  const { started, start } = consumers(['joins']);
  const subscription = new RestartingSubscription('group', start, quietLog, () => undefined, delays);
  await subscription.start();
  t.is(subscription.failure, undefined);

  started[0]?.stopForGood(new Error('Failed to find group coordinator'));
  t.is(subscription.failure?.message, 'Failed to find group coordinator');
  await until(() => started.length === 2 && subscription.failure === undefined, 'a second consumer to join');
  t.false(started[1]?.disconnected);

  started[1]?.stopForGood(new Error('again'));
  await until(() => started.length === 3 && subscription.failure === undefined, 'a third consumer to join');
  await subscription.stop();
  t.true(started[2]?.disconnected);
});

test('starts that fail are tried again, each failure reported, until one joins', async (t) => {
  const { started, start } = consumers(['joins', 'fails', 'fails', 'joins']);
  const logged: string[] = [];
  const subscription = new RestartingSubscription(
    'group',
    start,
    { ...quietLog, error: (line) => logged.push(line) },
    () => undefined,
    delays,
  );
  await subscription.start();
  started[0]?.stopForGood(new Error('crashed'));
  await until(() => started.length === 4 && subscription.failure === undefined, 'the fourth start to join');
  t.true(started[1]?.disconnected, 'a consumer whose start failed is disconnected');
  t.true(started[2]?.disconnected);
  t.deepEqual(
    logged.map((line) => /\((.*)\).* in (\d+) ms/.exec(line)?.slice(1)),
    [
      ['crashed', '5'],
      ['start 1 failed', '10'],
      ['start 2 failed', '20'],
    ],
    'each wait names the last failure, doubling up to the most',
  );
  await subscription.stop();
});

test('after stop() no new consumer starts, and the subscription reports itself stopped', async (t) => {
  const { started, start } = consumers(['joins']);
  const stopped: RestartingSubscription[] = [];
  const subscription = new RestartingSubscription('group', start, quietLog, (one) => stopped.push(one), { firstMs: 50, maxMs: 50 });
  await subscription.start();
  started[0]?.stopForGood(new Error('crashed'));
  await subscription.stop();
  t.deepEqual(stopped, [subscription]);
  await new Promise((resolve) => setTimeout(resolve, 100)); // past the restart's wait: nothing may start
  t.is(started.length, 1);
});

test('a first start that fails rejects, leaving its consumer disconnected and nothing restarting', async (t) => {
  const { started, start } = consumers(['fails', 'joins']);
  const subscription = new RestartingSubscription('group', start, quietLog, () => undefined, delays);
  await t.throwsAsync(subscription.start(), { message: 'start 0 failed' });
  t.true(started[0]?.disconnected);
  await new Promise((resolve) => setTimeout(resolve, 50));
  t.is(started.length, 1);
});
