import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import test, { type ExecutionContext } from 'ava';
import Database from 'better-sqlite3';
import { logLevel } from 'kafkajs';
import { createInProcessEventBus } from '../../lib/adapters/in-process-event-bus.ts';
import { createKafkaEventBus } from '../../lib/adapters/kafka-event-bus.ts';
import type { KafkaConfig } from '../../lib/config/index.ts';
import { DependencyUnavailableError } from '../../lib/errors.ts';
import { TOPICS } from '../../lib/events/topics.ts';
import { createKafkaClient } from '../../lib/kafka/client.ts';
import { namespaced } from '../../lib/kafka/names.ts';
import type { DeliveredMessage, EventBus, MessageHandler, Subscription } from '../../lib/ports/event-bus.ts';
import { waitUntil } from '../../lib/wait.ts';
import { serverConfig } from '../support/servers.ts';
import { isolatedDeployment } from '../../infra/local/deployment.ts';

/**
 * The event bus contract, run against every adapter. Kafka topics keep the
 * messages of earlier runs and other tests, so every test uses its own keys
 * and consumer groups and looks only at the messages carrying its keys.
 */

interface Adapter {
  readonly name: string;
  /** A bus for one test, closed when the test ends. */
  open(t: ExecutionContext): Promise<EventBus>;
  /** A bus whose topics hold only this test's messages (Kafka: a namespace of its own with one partition per topic, removed at the end). */
  openEmpty(t: ExecutionContext): Promise<EventBus>;
}

/** The local stack's Kafka, asked for once: serverConfig() takes a cross-process lock on every call. */
let kafkaConfig: Promise<KafkaConfig> | undefined;

const adapters: readonly Adapter[] = [
  {
    name: 'kafka',
    open: async (t) => {
      kafkaConfig ??= serverConfig().then((config) => config.kafka);
      const bus = await createKafkaEventBus(await kafkaConfig);
      t.teardown(() => bus.close());
      return bus;
    },
    openEmpty: async (t) => {
      const servers = await serverConfig();
      const deployment = isolatedDeployment('contract', servers);
      // One partition: what runs at once on Kafka is then one partition's messages of different keys.
      const bus = await createKafkaEventBus({ ...servers.kafka, namespace: deployment.namespace, topicPartitions: 1 });
      t.teardown(async () => {
        await bus.close();
        await deployment.remove();
      });
      return bus;
    },
  },
  {
    name: 'in-process',
    open: async (t) => {
      const bus = await createInProcessEventBus(await temporaryDirectory(t));
      t.teardown(() => bus.close());
      return bus;
    },
    openEmpty: async (t) => {
      const bus = await createInProcessEventBus(await temporaryDirectory(t));
      t.teardown(() => bus.close());
      return bus;
    },
  },
];

const TIMEOUT_MS = 30_000;
const topic = TOPICS.imageUploaded;

async function temporaryDirectory(t: ExecutionContext): Promise<string> {
  const directory = await mkdtemp(join(tmpdir(), 'progimage-bus-'));
  t.teardown(() => rm(directory, { recursive: true, force: true }));
  return directory;
}

const uniqueGroup = (): string => `contract-${randomUUID()}`;
const text = (message: DeliveredMessage): string => message.value.toString('utf8');
const utf8 = (value: string): Buffer => Buffer.from(value, 'utf8');

/**
 * Subscribes `group` and records every message carrying one of `keys`, after
 * `react` (the rest of the handler) resolves; a rejection of `react` is the handler's.
 */
async function record(
  bus: EventBus,
  group: string,
  keys: readonly string[],
  react: MessageHandler = () => Promise.resolve(),
): Promise<{ received: DeliveredMessage[]; subscription: Subscription }> {
  const received: DeliveredMessage[] = [];
  const subscription = await bus.subscribe(group, [topic], async (message, context) => {
    if (!keys.includes(message.key)) return;
    await react(message, context);
    received.push(message);
  });
  return { received, subscription };
}

/**
 * What a subscription with several messages in hand did: the greatest number
 * in the handler at once, each key's values in the order handled, and any key
 * handed over while one of its messages was still in the handler.
 */
function concurrencyProbe() {
  const inHand = new Set<string>();
  const probe = { most: 0, overlappingKeys: [] as string[], handled: new Map<string, string[]>() };
  /** Holds each message `ms` in the handler, after `react` (whose rejection is the handler's). */
  const handle =
    (ms: number, react: (message: DeliveredMessage) => Promise<void> = () => Promise.resolve()): MessageHandler =>
    async (message) => {
      if (inHand.has(message.key)) probe.overlappingKeys.push(message.key);
      inHand.add(message.key);
      probe.most = Math.max(probe.most, inHand.size);
      try {
        await sleep(ms);
        await react(message);
        probe.handled.set(message.key, [...(probe.handled.get(message.key) ?? []), text(message)]);
      } finally {
        inHand.delete(message.key);
      }
    };
  return { probe, handle };
}

async function until(condition: () => boolean, description: string): Promise<void> {
  await waitUntil(() => condition(), { timeoutMs: TIMEOUT_MS, intervalMs: 20, description });
}

for (const adapter of adapters) {
  const { name } = adapter;

  test(`${name}: a published message reaches a subscriber with its key, value and headers intact`, async (t) => {
    t.timeout(60_000);
    const bus = await adapter.open(t);
    const key = randomUUID();
    const value = Buffer.concat([Buffer.from([0x00, 0xff, 0x0a]), utf8(`{"probe":"${key}"}`)]);
    const headers = { 'content-type': 'application/json', 'event-id': randomUUID() };

    const { received } = await record(bus, uniqueGroup(), [key]);
    await bus.publish(topic, [{ key, value, headers }]);

    await until(() => received.length === 1, 'the message');
    const [message] = received;
    t.is(message?.topic, topic);
    t.is(message?.key, key);
    t.deepEqual(message?.value, value);
    t.deepEqual(message?.headers, headers);
    t.regex(message?.offset ?? '', /^\d+$/);
  });

  test(`${name}: two consumer groups each receive every message`, async (t) => {
    t.timeout(60_000);
    const bus = await adapter.open(t);
    const keys = [randomUUID(), randomUUID(), randomUUID()];

    const first = await record(bus, uniqueGroup(), keys);
    const second = await record(bus, uniqueGroup(), keys);
    await bus.publish(
      topic,
      keys.map((key) => ({ key, value: utf8(key) })),
    );

    await until(() => first.received.length === 3 && second.received.length === 3, 'both groups to get 3 messages');
    const keysOf = (received: readonly DeliveredMessage[]) => received.map((message) => message.key).sort();
    t.deepEqual(keysOf(first.received), [...keys].sort());
    t.deepEqual(keysOf(second.received), [...keys].sort());
  });

  test(`${name}: messages with the same key arrive in the order they were published`, async (t) => {
    t.timeout(60_000);
    const bus = await adapter.open(t);
    const key = randomUUID();
    const values = Array.from({ length: 10 }, (_, index) => `message ${index}`);

    const { received } = await record(bus, uniqueGroup(), [key]);
    for (const value of values.slice(0, 5)) await bus.publish(topic, [{ key, value: utf8(value) }]);
    await bus.publish(
      topic,
      values.slice(5).map((value) => ({ key, value: utf8(value) })),
    );

    await until(() => received.length === values.length, `${values.length} messages`);
    t.deepEqual(received.map(text), values);
  });

  test(`${name}: a rejected message is delivered again, and the messages after it only once it succeeds`, async (t) => {
    t.timeout(60_000);
    const bus = await adapter.open(t);
    const key = randomUUID();
    const deliveries: string[] = [];
    let rejectedOnce = false;

    // A TypeError, the kind of rejection kafkajs would otherwise treat as fatal for the consumer.
    await record(bus, uniqueGroup(), [key], (message) => {
      if (text(message) === 'second' && !rejectedOnce) {
        rejectedOnce = true;
        deliveries.push('second (rejected)');
        return Promise.reject(new TypeError('not yet'));
      }
      deliveries.push(text(message));
      return Promise.resolve();
    });
    await bus.publish(
      topic,
      ['first', 'second', 'third'].map((value) => ({ key, value: utf8(value) })),
    );

    await until(() => deliveries.includes('third'), 'the third message');
    t.deepEqual(deliveries, ['first', 'second (rejected)', 'second', 'third']);
  });

  test(`${name}: a message handled before stop() is not delivered again to the same group`, async (t) => {
    t.timeout(60_000);
    const bus = await adapter.open(t);
    const group = uniqueGroup();
    const key = randomUUID();

    const before = await record(bus, group, [key]);
    await bus.publish(topic, [{ key, value: utf8('handled') }]);
    await until(() => before.received.length === 1, 'the first message');
    await before.subscription.stop();

    await bus.publish(topic, [{ key, value: utf8('published after stop') }]);
    const after = await record(bus, group, [key]);
    await until(() => after.received.length > 0, 'the message published after stop');
    t.deepEqual(after.received.map(text), ['published after stop']);
  });

  test(`${name}: a message still rejected when its subscription stops goes to the group's next subscription`, async (t) => {
    t.timeout(60_000);
    const bus = await adapter.open(t);
    const group = uniqueGroup();
    const key = randomUUID();
    let attempts = 0;

    const failing = await record(bus, group, [key], () => {
      attempts += 1;
      return Promise.reject(new Error('still failing'));
    });
    await bus.publish(topic, [{ key, value: utf8('stuck') }]);
    await until(() => attempts > 0, 'an attempt at the message');
    await failing.subscription.stop();

    const next = await record(bus, group, [key]);
    await until(() => next.received.length > 0, 'the message again');
    t.deepEqual(next.received.map(text), ['stuck']);
  });

  test(`${name}: a handler can call heartbeat() during long work`, async (t) => {
    t.timeout(60_000);
    const bus = await adapter.open(t);
    const key = randomUUID();

    const { received } = await record(bus, uniqueGroup(), [key], async (_message, context) => {
      await context.heartbeat();
      await context.heartbeat();
    });
    await bus.publish(topic, [{ key, value: utf8('long work') }]);

    await until(() => received.length === 1, 'the message');
    t.deepEqual(received.map(text), ['long work']);
  });

  test(`${name}: a new consumer group starts with the messages published before it subscribed`, async (t) => {
    t.timeout(60_000);
    const bus = await adapter.open(t);
    const key = randomUUID();

    await bus.publish(topic, [{ key, value: utf8('published first') }]);
    const { received } = await record(bus, uniqueGroup(), [key]);

    await until(() => received.length === 1, 'the earlier message');
    t.deepEqual(received.map(text), ['published first']);
  });

  test(`${name}: with concurrency 4, messages of different keys are handled at once and one key's strictly in order`, async (t) => {
    t.timeout(120_000);
    const bus = await adapter.openEmpty(t);
    const keys = Array.from({ length: 12 }, () => randomUUID());
    const values = ['first', 'second', 'third'];
    await bus.publish(
      topic,
      values.flatMap((value) => keys.map((key) => ({ key, value: utf8(value) }))),
    );

    const { probe, handle } = concurrencyProbe();
    await bus.subscribe(uniqueGroup(), [topic], handle(100), { concurrency: 4 });

    await until(() => keys.every((key) => probe.handled.get(key)?.length === values.length), 'every message');
    t.true(probe.most >= 2, `at most ${probe.most} message(s) were in the handler at once`);
    t.true(probe.most <= 4, `${probe.most} messages were in the handler at once`);
    t.deepEqual(probe.overlappingKeys, [], 'no key had two messages in the handler at once');
    for (const key of keys) t.deepEqual(probe.handled.get(key), values);
  });

  test(`${name}: with concurrency 4, a message unfinished when its subscription stops is delivered again, after others went past it, and its key's next one after it`, async (t) => {
    t.timeout(120_000);
    const bus = await adapter.openEmpty(t);
    const group = uniqueGroup();
    const stuck = randomUUID();
    const others = Array.from({ length: 10 }, () => randomUUID());
    await bus.publish(topic, [
      { key: stuck, value: utf8('unfinished') },
      ...others.map((key) => ({ key, value: utf8('other') })),
      { key: stuck, value: utf8('after it') },
    ]);

    let attempts = 0;
    const crashed = concurrencyProbe();
    const first = await bus.subscribe(
      group,
      [topic],
      crashed.handle(20, (message) => {
        if (message.key !== stuck) return Promise.resolve();
        attempts += 1;
        return Promise.reject(new Error('the process dies before handling this'));
      }),
      { concurrency: 4 },
    );
    // Other keys' messages are handled while the stuck one is not, on Kafka from the same partition.
    await until(() => attempts > 0 && crashed.probe.handled.size > 0, 'other keys handled while one is stuck');
    await first.stop();
    t.is(crashed.probe.handled.get(stuck), undefined, "the stuck key's next message waited for it");

    const restarted = concurrencyProbe();
    await bus.subscribe(group, [topic], restarted.handle(0), { concurrency: 4 });
    await until(() => restarted.probe.handled.get(stuck)?.length === 2, 'the unfinished message and the one after it');
    t.deepEqual(restarted.probe.handled.get(stuck), ['unfinished', 'after it']);
    await until(() => others.every((key) => crashed.probe.handled.has(key) || restarted.probe.handled.has(key)), 'every other message');
    t.deepEqual([...crashed.probe.overlappingKeys, ...restarted.probe.overlappingKeys], []);
  });

  test(`${name}: checkHealth resolves while the bus is open and rejects once it is closed`, async (t) => {
    t.timeout(60_000);
    const bus = await adapter.open(t);

    await t.notThrowsAsync(bus.checkHealth());
    await bus.close();
    await t.throwsAsync(bus.checkHealth());
  });
}

test('kafka: a cluster that cannot be reached is reported as DependencyUnavailableError', async (t) => {
  t.timeout(60_000);
  const unreachable = { brokers: ['127.0.0.1:1'], clientId: 'progimage-test', namespace: null, topicPartitions: 1, replicationFactor: 1 };

  const error = await t.throwsAsync(createKafkaEventBus(unreachable, { logLevel: logLevel.NOTHING }));
  t.true(error instanceof DependencyUnavailableError, String(error));
});

test('kafka: a namespace gives a deployment topics and consumer groups of its own on a shared cluster', async (t) => {
  t.timeout(120_000);
  const servers = await serverConfig();
  const deployment = isolatedDeployment('contract', servers);
  const namespacedBus = await createKafkaEventBus({ ...servers.kafka, namespace: deployment.namespace });
  const plainBus = await createKafkaEventBus(servers.kafka);
  t.teardown(async () => {
    await Promise.all([namespacedBus.close(), plainBus.close()]);
    await deployment.remove();
  });
  const key = randomUUID();
  const group = uniqueGroup();
  const inNamespace = await record(namespacedBus, group, [key]);
  const plain = await record(plainBus, group, [key]);

  // One key, so one partition: were the names shared, each side would see both messages, in this order.
  await namespacedBus.publish(topic, [{ key, value: utf8('namespaced') }]);
  await plainBus.publish(topic, [{ key, value: utf8('plain') }]);
  await until(() => inNamespace.received.length > 0 && plain.received.length > 0, "each side's message");

  t.deepEqual(inNamespace.received.map(text), ['namespaced']);
  t.is(inNamespace.received[0]?.topic, topic, "the handler sees the project topic, not the cluster's name for it");
  t.deepEqual(plain.received.map(text), ['plain']);
  const admin = createKafkaClient(servers.kafka, { logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  t.teardown(() => admin.disconnect());
  t.true((await admin.listTopics()).includes(`${deployment.namespace}.${topic}`));
  const { groups } = await admin.describeGroups([`${deployment.namespace}.${group}`]);
  t.is(groups[0]?.members.length, 1, 'the namespaced group has the namespaced bus as its member');
});

test('kafka: a consumer left idle after a message commits its offset within the commit interval, without stopping', async (t) => {
  t.timeout(60_000);
  const servers = await serverConfig();
  // A namespace of its own, one partition: its only message is this test's, so the offset to commit is known.
  const deployment = isolatedDeployment('contract', servers);
  const kafka = { ...servers.kafka, namespace: deployment.namespace, topicPartitions: 1 };
  const bus = await createKafkaEventBus(kafka);
  t.teardown(async () => {
    await bus.close();
    await deployment.remove();
  });
  const key = randomUUID();
  const group = uniqueGroup();
  const { received } = await record(bus, group, [key]);
  await bus.publish(topic, [{ key, value: utf8('handled, then nothing more') }]);
  await until(() => received.length === 1, 'the message');
  const [handled] = received;
  if (handled === undefined) throw new Error('unreachable: one message was received');

  // Offsets are committed once the interval (5 s) has passed, not after every message: with nothing
  // more to handle, the consumer's idle fetches must still commit this one.
  const admin = createKafkaClient(kafka, { logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  t.teardown(() => admin.disconnect());
  const committed = async (): Promise<number> => {
    const [offsets] = await admin.fetchOffsets({
      groupId: namespaced(group, kafka.namespace),
      topics: [namespaced(topic, kafka.namespace)],
    });
    return Number(offsets?.partitions.find(({ partition }) => partition === handled.partition)?.offset ?? -1);
  };
  const next = await waitUntil(
    async () => {
      const offset = await committed();
      return offset > Number(handled.offset) ? offset : false;
    },
    {
      timeoutMs: 20_000,
      intervalMs: 250,
      description: "the group's committed offset past the handled message",
    },
  );
  t.is(next, Number(handled.offset) + 1);
});

async function reopen(t: ExecutionContext, directory: string): Promise<EventBus> {
  const bus = await createInProcessEventBus(directory);
  t.teardown(() => bus.close());
  return bus;
}

test('in-process: a published message is still delivered after re-creating the bus over the same directory', async (t) => {
  const directory = await temporaryDirectory(t);
  const key = randomUUID();
  const before = await reopen(t, directory);
  await before.publish(topic, [{ key, value: utf8('durable') }]);
  await before.close();

  const after = await reopen(t, directory);
  const { received } = await record(after, uniqueGroup(), [key]);

  await until(() => received.length === 1, 'the message published before the restart');
  t.deepEqual(received.map(text), ['durable']);
});

test('in-process: after re-creating the bus, a group resumes after the last message it handled', async (t) => {
  const directory = await temporaryDirectory(t);
  const group = uniqueGroup();
  const key = randomUUID();
  const before = await reopen(t, directory);
  let attempts = 0;
  await record(before, group, [key], (message) => {
    if (text(message) === 'handled') return Promise.resolve();
    attempts += 1;
    return Promise.reject(new Error('the process dies before handling this'));
  });
  await before.publish(
    topic,
    ['handled', 'not handled'].map((value) => ({ key, value: utf8(value) })),
  );
  await until(() => attempts > 0, 'an attempt at the second message');
  await before.close();

  const after = await reopen(t, directory);
  const { received } = await record(after, group, [key]);

  await until(() => received.length > 0, 'the unhandled message');
  t.deepEqual(received.map(text), ['not handled']);
});

test('in-process: a message every group has handled is deleted; one a group has not stays', async (t) => {
  const directory = await temporaryDirectory(t);
  const bus = await reopen(t, directory);
  const [fast, slow] = [uniqueGroup(), uniqueGroup()];
  const key = randomUUID();
  const first = await record(bus, fast, [key]);
  const second = await record(bus, slow, [key], (message) =>
    text(message) === 'second' ? Promise.reject(new Error('not yet')) : Promise.resolve(),
  );
  await bus.publish(
    topic,
    ['first', 'second'].map((value) => ({ key, value: utf8(value) })),
  );
  await until(() => first.received.length === 2 && second.received.length === 1, 'fast to handle both, slow the first');
  await bus.close();

  const database = new Database(join(directory, 'bus.sqlite'), { readonly: true });
  t.teardown(() => database.close());
  const kept = database.prepare(`SELECT value FROM "topic:${topic}" ORDER BY offset`).all() as { value: Buffer }[];
  t.deepEqual(
    kept.map((row) => row.value.toString('utf8')),
    ['second'],
  );
});

test('in-process: a second process on the same bus is refused, and says why', async (t) => {
  t.timeout(30_000);
  const directory = await temporaryDirectory(t);
  await reopen(t, directory);

  await t.throwsAsync(createInProcessEventBus(directory), { message: /bus\.sqlite is open in another process/ });
});

/**
 * Earlier versions kept each topic as `<dataDir>/bus/<topic>.log`, one JSON line
 * per message (key, base64 value, headers; a last line without its newline a
 * publish a crash cut short), and each group's next position per topic in
 * `bus/groups/<url-encoded group>.json`. These files are what that bus wrote.
 */
async function writeLogBus(directory: string, group: string, key: string): Promise<void> {
  const line = (value: string): string => JSON.stringify({ key, value: utf8(value).toString('base64'), headers: { n: value } });
  await mkdir(join(directory, 'bus', 'groups'), { recursive: true });
  await writeFile(join(directory, 'bus', `${topic}.log`), `${['handled', 'not handled', 'last'].map(line).join('\n')}\n{"key":"cut sh`);
  await writeFile(join(directory, 'bus', 'groups', `${encodeURIComponent(group)}.json`), JSON.stringify({ [topic]: 1 }));
}

test('in-process: the log files of an earlier version are migrated once at start, positions included, then moved aside', async (t) => {
  const directory = await temporaryDirectory(t);
  const group = `old group/${randomUUID()}`;
  const key = randomUUID();
  await writeLogBus(directory, group, key);

  const bus = await reopen(t, directory);
  // The new group first: what the old group hands over once both are entered, the new one keeps.
  const fresh = await record(bus, uniqueGroup(), [key]);
  const old = await record(bus, group, [key]);

  await until(() => old.received.length === 2 && fresh.received.length === 2, 'the messages the old group had not handled');
  t.deepEqual(old.received.map(text), ['not handled', 'last']);
  t.deepEqual(
    old.received.map((message) => message.headers),
    [{ n: 'not handled' }, { n: 'last' }],
  );
  t.deepEqual(fresh.received.map(text), ['not handled', 'last'], 'what every group had handled was not kept');
  t.false(existsSync(join(directory, 'bus')));
  t.true(existsSync(join(directory, 'bus.migrated-to-sqlite', `${topic}.log`)));
  await bus.publish(topic, [{ key, value: utf8('new') }]);
  await until(() => old.received.length === 3, 'a message published after the migration');
  t.is(old.received[2]?.offset, '4', 'offsets go on from the old log');
});

test('in-process: a second subscription of one group to the same topic is refused', async (t) => {
  const bus = await reopen(t, await temporaryDirectory(t));
  const group = uniqueGroup();
  await bus.subscribe(group, [topic], () => Promise.resolve());

  await t.throwsAsync(
    bus.subscribe(group, [TOPICS.imageScanned, topic], () => Promise.resolve()),
    {
      message: /already consumes image\.uploaded/,
    },
  );
});
