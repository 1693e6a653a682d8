import { randomUUID } from 'node:crypto';
import test from 'ava';
import { logLevel, type KafkaMessage } from 'kafkajs';
import { TOPICS } from '../../lib/events/topics.ts';
import { createKafkaClient } from '../../lib/kafka/client.ts';
import { serverConfig } from '../support/servers.ts';

test('a message produced to a project topic with acks from all replicas is consumed back intact', async (t) => {
  t.timeout(60_000);
  const { kafka: config } = await serverConfig();
  const kafka = createKafkaClient(config);
  const key = randomUUID();
  const value = JSON.stringify({ probe: key, at: new Date().toISOString() });

  const consumer = kafka.consumer({ groupId: `smoke-${key}` });
  const producer = kafka.producer();
  t.teardown(async () => {
    await consumer.disconnect();
    await producer.disconnect();
  });

  await consumer.connect();
  await consumer.subscribe({ topic: TOPICS.imageUploaded, fromBeginning: true });
  const received = new Promise<KafkaMessage>((resolve) => {
    void consumer.run({
      eachMessage: ({ message }) => {
        if (message.key?.toString() === key) resolve(message);
        return Promise.resolve();
      },
    });
  });

  await producer.connect();
  const [record] = await producer.send({
    topic: TOPICS.imageUploaded,
    acks: -1,
    messages: [{ key, value, headers: { 'content-type': 'application/json' } }],
  });
  t.is(record?.errorCode, 0);

  const message = await received;
  t.is(message.value?.toString(), value);
  t.is(message.headers?.['content-type']?.toString(), 'application/json');
});

test('the broker refuses to auto-create a topic the project did not create', async (t) => {
  const { kafka: config } = await serverConfig();
  const producer = createKafkaClient(config, { retries: 0, logLevel: logLevel.NOTHING }).producer();
  t.teardown(() => producer.disconnect());
  await producer.connect();
  await t.throwsAsync(producer.send({ topic: `not-a-project-topic-${randomUUID()}`, messages: [{ value: 'x' }] }), {
    message: /does not host this topic-partition|UNKNOWN_TOPIC_OR_PARTITION/i,
  });
});
