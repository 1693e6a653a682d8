import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import anyTest, { type TestFn } from 'ava';
import { Webhook } from 'standardwebhooks';
import { z } from 'zod';
import { openTenantCollections, createTenant, UNLIMITED } from '../../lib/auth/tenants.ts';
import { outcomeSchema } from '../../lib/events/outcomes.ts';
import { ProgImage } from '../../sdk/src/index.ts';
import { waitUntil } from '../../lib/wait.ts';
import { bearer, errorSchema, json, request, uploadAccepted, waitForFinalStatus, type Reply } from '../support/api.ts';
import { readFixture } from '../support/fixtures.ts';
import type { RunningProgImage } from '../support/progimage.ts';
import { startSecured, type SecuredProgImage } from '../support/secured.ts';
import { runCommand, type CommandResult } from '../support/run-command.ts';
import { readOutcomes, outcomeFor } from '../support/upstream.ts';
import { startWebhookReceiver, type ReceivedWebhook, type WebhookReceiver } from '../support/webhook-receiver.ts';

/*
 * Webhooks on the real servers (Kafka, MinIO, FerretDB, clamd), delivered to
 * real HTTP receivers on loopback, which PROGIMAGE_FETCH_ALLOW_HOSTS exempts
 * from the address policy. Retries come after a second, attempts time out
 * after one, and an endpoint is disabled after four failures in a row, so
 * that every path is seen in seconds. Each test acts for a tenant of its own,
 * so that its endpoints get its outcomes only.
 */

interface Receivers {
  /** Fails each message twice (500), then takes it. */
  readonly flaky: WebhookReceiver;
  /** Never answers. */
  readonly hanging: WebhookReceiver;
  /** Takes everything (until a test changes its mind). */
  readonly steady: WebhookReceiver;
  readonly rotated: WebhookReceiver;
  /** Fails everything (until a test changes its mind). */
  readonly broken: WebhookReceiver;
}

const test = anyTest as TestFn<{ secured: SecuredProgImage; receivers: Receivers }>;

const everyReceiver = ({ flaky, hanging, steady, rotated, broken }: Receivers): WebhookReceiver[] => [
  flaky,
  hanging,
  steady,
  rotated,
  broken,
];

const ATTEMPT_TIMEOUT_MS = 1000;
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

test.before(async (t) => {
  const receivers: Receivers = {
    flaky: await startWebhookReceiver((_message, earlier) => (earlier < 2 ? 500 : 204)),
    hanging: await startWebhookReceiver(() => 'hang'),
    steady: await startWebhookReceiver(() => 200),
    rotated: await startWebhookReceiver(() => 200),
    broken: await startWebhookReceiver(() => 500),
  };
  const secured = await startSecured('webhooks', {
    PROGIMAGE_FETCH_ALLOW_HOSTS: everyReceiver(receivers)
      .map((receiver) => receiver.host)
      .join(','),
    PROGIMAGE_WEBHOOK_RETRY_SCHEDULE: '1,1,1,1,1,1,1,1,1,1',
    PROGIMAGE_WEBHOOK_TIMEOUT_MS: String(ATTEMPT_TIMEOUT_MS),
    PROGIMAGE_WEBHOOK_DISABLE_AFTER_FAILURES: '4',
    PROGIMAGE_WEBHOOK_POLL_MS: '200',
  });
  t.context = { secured, receivers };
});

test.after.always(async (t) => {
  await t.context.secured.stop();
  for (const receiver of everyReceiver(t.context.receivers)) await receiver.close();
});

const endpointSchema = z
  .object({
    id: z.uuid(),
    url: z.string(),
    events: z.array(z.string()),
    enabled: z.boolean(),
    disabledReason: z.string().nullable(),
    secrets: z.array(z.object({ createdAt: z.string(), retiresAt: z.string().nullable() })),
  })
  .loose();
const createdSchema = endpointSchema.extend({ secret: z.string().startsWith('whsec_') });
const deliverySchema = z
  .object({
    id: z.uuid(),
    eventId: z.uuid(),
    type: z.string(),
    state: z.enum(['pending', 'delivered', 'failed']),
    attempts: z.number(),
    lastStatus: z.number().nullable(),
    lastError: z.string().nullable(),
    lastAttemptAt: z.string().nullable(),
    nextAttemptAt: z.string().nullable(),
    deliveredAt: z.string().nullable(),
  })
  .loose();
const deliveriesSchema = z.object({ deliveries: z.array(deliverySchema), next: z.string().nullable() });

/** A tenant of its own for one test, and its API key. */
async function newTenant(progimage: RunningProgImage, name: string): Promise<string> {
  const created = await createTenant(await openTenantCollections(await progimage.catalogStore()), name, UNLIMITED);
  if (created === null) throw new Error(`tenant ${name} exists`);
  return created.apiKey;
}

const send = (progimage: RunningProgImage, key: string, method: string, path: string, body?: unknown): Promise<Reply> =>
  request(`${progimage.baseUrl}${path}`, {
    method,
    headers: { ...bearer(key), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });

async function register(progimage: RunningProgImage, key: string, url: string, events?: readonly string[]) {
  const reply = await send(progimage, key, 'POST', '/v1/webhooks', { url, ...(events === undefined ? {} : { events }) });
  if (reply.status !== 201) throw new Error(`registration answered ${reply.status}: ${reply.bytes.toString('utf8')}`);
  return createdSchema.parse(json(reply));
}

async function deliveriesOf(progimage: RunningProgImage, key: string, endpointId: string) {
  const reply = await send(progimage, key, 'GET', `/v1/webhooks/${endpointId}/deliveries`);
  if (reply.status !== 200) throw new Error(`the delivery log answered ${reply.status}`);
  return deliveriesSchema.parse(json(reply)).deliveries;
}

/** Waits for the one delivery of an endpoint that `matches`. */
const waitForDelivery = (
  progimage: RunningProgImage,
  key: string,
  endpointId: string,
  matches: (delivery: z.infer<typeof deliverySchema>) => boolean,
  description: string,
) =>
  waitUntil(async () => (await deliveriesOf(progimage, key, endpointId)).find(matches) ?? false, {
    timeoutMs: 120_000,
    intervalMs: 100,
    description,
  });

/** The messages a receiver got about an image, of one outcome type. */
const messagesAbout = (receiver: WebhookReceiver, imageId: string, type = 'image.ready'): ReceivedWebhook[] =>
  receiver.received.filter((message) => {
    const outcome = JSON.parse(message.body) as { imageId?: string; type?: string };
    return outcome.imageId === imageId && outcome.type === type;
  });

const waitForMessages = (receiver: WebhookReceiver, imageId: string, count: number) =>
  waitUntil(() => (messagesAbout(receiver, imageId).length >= count ? messagesAbout(receiver, imageId) : false), {
    timeoutMs: 120_000,
    intervalMs: 50,
    description: `${count} webhook messages about ${imageId}`,
  });

/** What the Standard Webhooks reference code makes of a message, verified with `secret`. */
const verified = (message: ReceivedWebhook, secret: string): unknown => new Webhook(secret).verify(message.body, message.headers);

/** The Python verifier docs/events.md shows, run on a message as a receiver written in Python would. */
async function verifiedInPython(message: ReceivedWebhook, secret: string): Promise<CommandResult> {
  const docs = await readFile(join(REPO_ROOT, 'docs/events.md'), 'utf8');
  const verifier = /### Verifying a delivery[\s\S]*?```python\n([\s\S]*?)```/.exec(docs)?.[1];
  if (verifier === undefined) throw new Error('docs/events.md shows a Python verifier');
  const script = `${verifier}\nimport sys\nmessage = json.loads(sys.argv[1])\nprint(json.dumps(verify(sys.argv[2], message["headers"], message["body"].encode())))\n`;
  return runCommand('python3', ['-c', script, JSON.stringify(message), secret], { cwd: REPO_ROOT, env: process.env });
}

test('a receiver that fails twice then succeeds gets three attempts of one message: the same webhook-id, each validly signed, the first retry within 5 s', async (t) => {
  const { secured, receivers } = t.context;
  const progimage = secured.running;
  const key = await newTenant(progimage, 'flaky-receiver');
  const outcomes = await readOutcomes(progimage);
  const endpoint = await register(progimage, key, receivers.flaky.url, ['image.ready']);

  const imageId = await uploadAccepted(progimage.baseUrl, await readFixture('320x240.jpg'), 'image/jpeg', key);
  const [first, second, third] = await waitForMessages(receivers.flaky, imageId, 3);
  const published = await outcomes.next(outcomeFor('image.ready', imageId), `image.ready of ${imageId}`);
  await outcomes.stop();

  if (first === undefined || second === undefined || third === undefined) throw new Error('three messages expected');
  t.deepEqual([second.headers['webhook-id'], third.headers['webhook-id']], [first.headers['webhook-id'], first.headers['webhook-id']]);
  for (const message of [first, second, third]) {
    t.deepEqual(outcomeSchema.parse(verified(message, endpoint.secret)), published, 'the body is the outcome on progimage.outcomes.v1');
    t.regex(message.headers['webhook-signature'] ?? '', /^v1,[A-Za-z0-9+/]+={0,2}$/);
    t.is(message.headers['content-type'], 'application/json');
  }
  t.true(second.at - first.at < 5000, `first retry after ${second.at - first.at} ms`);
  t.throws(
    () => verified(first, `whsec_${Buffer.alloc(32, 1).toString('base64')}`),
    { message: /No matching signature/ },
    'another secret does not verify',
  );
  const python = await verifiedInPython(first, endpoint.secret);
  t.is(python.code, 0, python.stderr);
  t.deepEqual(
    outcomeSchema.parse(JSON.parse(python.stdout.toString('utf8'))),
    published,
    "docs/events.md's Python verifier takes the delivery",
  );
  const tampered = await verifiedInPython({ ...first, body: first.body.replace('image.ready', 'image.failed') }, endpoint.secret);
  t.regex(tampered.stderr, /signature does not match/, "docs/events.md's Python verifier refuses a changed body");

  const delivery = await waitForDelivery(
    progimage,
    key,
    endpoint.id,
    (one) => one.state === 'delivered',
    'the delivery to be logged as delivered',
  );
  t.like(delivery, {
    id: first.headers['webhook-id'],
    eventId: published.eventId,
    type: 'image.ready',
    attempts: 3,
    lastStatus: 204,
    lastError: null,
    nextAttemptAt: null,
  });
  t.not(delivery.deliveredAt, null);

  const metrics = (await request(`${progimage.baseUrl}/metrics`)).bytes.toString('utf8');
  t.regex(metrics, /progimage_webhook_attempts_total\{result="http_error"[^}]*\} [1-9]/);
  t.regex(metrics, /progimage_webhook_attempts_total\{result="delivered"[^}]*\} [1-9]/);
});

test('a receiver that hangs holds up neither the pipeline nor the other endpoint: its attempt is logged as timed out and retried', async (t) => {
  const { secured, receivers } = t.context;
  const progimage = secured.running;
  const key = await newTenant(progimage, 'hanging-receiver');
  const hanging = await register(progimage, key, receivers.hanging.url);
  const steady = await register(progimage, key, receivers.steady.url);

  const photos = ['Landscape_1.jpg', 'Portrait_1.jpg', 'flowers.jpeg'];
  const ids = await Promise.all(photos.map(async (name) => uploadAccepted(progimage.baseUrl, await readFixture(name), 'image/jpeg', key)));
  for (const id of ids) {
    t.is((await waitForFinalStatus(progimage.baseUrl, id, key)).status, 'ready', id);
    for (const message of await waitForMessages(receivers.steady, id, 1))
      t.like(verified(message, steady.secret), { type: 'image.ready', imageId: id });
  }

  const timedOut = await waitForDelivery(
    progimage,
    key,
    hanging.id,
    (delivery) => delivery.attempts >= 1 && delivery.lastError !== null,
    'an attempt to the hanging receiver to time out',
  );
  t.regex(timedOut.lastError ?? '', new RegExp(`no answer within ${ATTEMPT_TIMEOUT_MS} ms`));
  t.is(timedOut.lastStatus, null);
  t.not(timedOut.state, 'delivered');
  const retried = await waitForDelivery(
    progimage,
    key,
    hanging.id,
    (delivery) => delivery.id === timedOut.id && delivery.attempts >= 2,
    'the timed-out delivery to be tried again',
  );
  t.true(retried.attempts >= 2);
  t.is(
    new Set(
      receivers.hanging.received
        .filter((message) => (JSON.parse(message.body) as { eventId?: string }).eventId === timedOut.eventId)
        .map((message) => message.headers['webhook-id']),
    ).size,
    1,
  );
});

test('a webhook on an address the policy refuses is refused at registration, naming why', async (t) => {
  const progimage = t.context.secured.running;
  const key = await newTenant(progimage, 'refused-addresses');
  const cases: readonly (readonly [url: string, code: string, message: RegExp])[] = [
    ['http://169.254.169.254/latest/meta-data', 'address_refused', /169\.254\.169\.254 is a cloud metadata address/],
    ['http://10.0.0.1/hooks', 'address_refused', /10\.0\.0\.1 is a private address/],
    ['http://127.0.0.1:9/hooks', 'address_refused', /127\.0\.0\.1 is a loopback address/],
    ['http://[::1]:8080/hooks', 'address_refused', /::1 is a loopback address/],
    ['ftp://example.com/hooks', 'url_scheme_refused', /only http and https/],
    ['http://user:password@example.com/hooks', 'url_credentials_refused', /credentials/],
    ['not a url', 'url_invalid', /not a valid URL/],
  ];
  for (const [url, code, message] of cases) {
    const reply = await send(progimage, key, 'POST', '/v1/webhooks', { url, events: ['image.ready'] });
    t.is(reply.status, 400, url);
    t.like(errorSchema.parse(json(reply)).error, { code }, url);
    t.regex(errorSchema.parse(json(reply)).error.message, message, url);
  }
  const unknownEvent = await send(progimage, key, 'POST', '/v1/webhooks', {
    url: t.context.receivers.steady.url,
    events: ['image.uploaded'],
  });
  t.is(unknownEvent.status, 400);
  t.is(errorSchema.parse(json(unknownEvent)).error.code, 'invalid_body');
  t.deepEqual(json(await send(progimage, key, 'GET', '/v1/webhooks')), { webhooks: [] });
});

test("webhooks are listed, read, rotated (signed with both secrets in the grace period), redelivered on request and deleted; never another tenant's", async (t) => {
  const { secured, receivers } = t.context;
  const progimage = secured.running;
  const key = await newTenant(progimage, 'webhook-owner');
  const otherKey = await newTenant(progimage, 'webhook-stranger');
  const endpoint = await register(progimage, key, receivers.rotated.url, ['image.ready', 'image.deleted']);
  t.deepEqual(endpoint.events, ['image.ready', 'image.deleted']);

  const listed = z.object({ webhooks: z.array(endpointSchema) }).parse(json(await send(progimage, key, 'GET', '/v1/webhooks')));
  t.deepEqual(
    listed.webhooks.map(({ id }) => id),
    [endpoint.id],
  );
  t.false(JSON.stringify(listed).includes(endpoint.secret), 'a listing never shows the secret');
  t.like(endpointSchema.parse(json(await send(progimage, key, 'GET', `/v1/webhooks/${endpoint.id}`))), {
    id: endpoint.id,
    url: receivers.rotated.url,
    enabled: true,
  });
  t.is((await send(progimage, otherKey, 'GET', `/v1/webhooks/${endpoint.id}`)).status, 404);
  t.is((await send(progimage, otherKey, 'DELETE', `/v1/webhooks/${endpoint.id}`)).status, 404);
  t.deepEqual(json(await send(progimage, otherKey, 'GET', '/v1/webhooks')), { webhooks: [] });

  const imageId = await uploadAccepted(progimage.baseUrl, await readFixture('320x240.jpg'), 'image/jpeg', key);
  const [first] = await waitForMessages(receivers.rotated, imageId, 1);
  const delivery = await waitForDelivery(progimage, key, endpoint.id, (one) => one.state === 'delivered', 'the first delivery');

  const rotation = await send(progimage, key, 'POST', `/v1/webhooks/${endpoint.id}/rotate-secret`, { graceSeconds: 3600 });
  t.is(rotation.status, 200);
  const rotated = createdSchema.parse(json(rotation));
  t.not(rotated.secret, endpoint.secret);
  t.is(rotated.secrets.length, 2);
  t.is(rotated.secrets[0]?.retiresAt, null);
  t.truthy(rotated.secrets[1]?.retiresAt);

  const redelivered = await send(progimage, key, 'POST', `/v1/webhooks/${endpoint.id}/deliveries/${delivery.id}/redeliver`);
  t.is(redelivered.status, 202);
  t.like(deliverySchema.parse(json(redelivered)), { id: delivery.id, state: 'pending' });
  const [, again] = await waitForMessages(receivers.rotated, imageId, 2);
  if (first === undefined || again === undefined) throw new Error('two messages expected');
  t.is(again.headers['webhook-id'], first.headers['webhook-id'], 'a redelivery is the same message');
  t.is(again.headers['webhook-signature']?.split(' ').length, 2, 'signed with the new secret and the old one');
  t.like(verified(again, rotated.secret), { type: 'image.ready', imageId });
  t.like(verified(again, endpoint.secret), { type: 'image.ready', imageId });
  await waitForDelivery(
    progimage,
    key,
    endpoint.id,
    (one) => one.state === 'delivered' && one.attempts === 2,
    'the redelivery to be logged',
  );

  const noSuchDelivery = await send(
    progimage,
    key,
    'POST',
    `/v1/webhooks/${endpoint.id}/deliveries/00000000-0000-4000-8000-000000000000/redeliver`,
  );
  t.is(errorSchema.parse(json(noSuchDelivery)).error.code, 'delivery_not_found');

  t.is((await send(progimage, key, 'DELETE', `/v1/webhooks/${endpoint.id}`)).status, 204);
  t.is(errorSchema.parse(json(await send(progimage, key, 'GET', `/v1/webhooks/${endpoint.id}`))).error.code, 'webhook_not_found');
  t.is((await send(progimage, key, 'GET', `/v1/webhooks/${endpoint.id}/deliveries`)).status, 404);
  t.deepEqual(json(await send(progimage, key, 'GET', '/v1/webhooks')), { webhooks: [] });
});

test('an endpoint whose deliveries keep failing is disabled with a reason; its deliveries stop until it is enabled again', async (t) => {
  const { secured, receivers } = t.context;
  const progimage = secured.running;
  const key = await newTenant(progimage, 'broken-receiver');
  const endpoint = await register(progimage, key, receivers.broken.url, ['image.ready']);

  const imageId = await uploadAccepted(progimage.baseUrl, await readFixture('320x240.jpg'), 'image/jpeg', key);
  const disabled = await waitUntil(
    async () => {
      const current = endpointSchema.parse(json(await send(progimage, key, 'GET', `/v1/webhooks/${endpoint.id}`)));
      return current.enabled ? false : current;
    },
    { timeoutMs: 120_000, intervalMs: 100, description: 'the endpoint to be disabled' },
  );
  t.regex(disabled.disabledReason ?? '', /after 4 failed delivery attempts in a row/);
  t.regex(disabled.disabledReason ?? '', /answered 500/);
  const stopped = await waitForDelivery(progimage, key, endpoint.id, (one) => one.state === 'failed', 'the pending delivery to stop');
  t.like(stopped, { attempts: 4, lastStatus: 500 });
  t.regex(stopped.lastError ?? '', /endpoint is disabled/);
  t.is(messagesAbout(receivers.broken, imageId).length, 4);

  const refused = await send(progimage, key, 'POST', `/v1/webhooks/${endpoint.id}/deliveries/${stopped.id}/redeliver`);
  t.is(refused.status, 409);
  t.is(errorSchema.parse(json(refused)).error.code, 'webhook_disabled');

  receivers.broken.answer = () => 200;
  const enabled = await send(progimage, key, 'PATCH', `/v1/webhooks/${endpoint.id}`, { enabled: true });
  t.like(endpointSchema.parse(json(enabled)), { enabled: true, disabledReason: null });
  t.is((await send(progimage, key, 'POST', `/v1/webhooks/${endpoint.id}/deliveries/${stopped.id}/redeliver`)).status, 202);
  const delivered = await waitForDelivery(progimage, key, endpoint.id, (one) => one.state === 'delivered', 'the redelivery after enabling');
  t.like(delivered, { id: stopped.id, attempts: 5, lastStatus: 200 });
  t.regex(
    (await request(`${progimage.baseUrl}/metrics`)).bytes.toString('utf8'),
    /progimage_webhook_endpoints_disabled_total\{[^}]*\} [1-9]/,
  );
});

test('the client library and the progimage command register, list, rotate, redeliver and delete webhooks', async (t) => {
  const { secured, receivers } = t.context;
  const progimage = secured.running;
  const key = await newTenant(progimage, 'client-user');
  const client = new ProgImage({ baseUrl: progimage.baseUrl, apiKey: key });
  const cli = async (...args: string[]) => {
    const result = await runCommand(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'sdk/src/cli/main.ts'), 'webhooks', ...args], {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, PROGIMAGE_URL: progimage.baseUrl, PROGIMAGE_API_KEY: key },
    });
    return { code: result.code, text: result.stdout.toString('utf8'), stderr: result.stderr };
  };

  const created = await client.webhooks.create(receivers.steady.url, { events: ['image.ready'] });
  t.regex(created.secret, /^whsec_/);
  t.deepEqual(
    (await client.webhooks.list()).map(({ id }) => id),
    [created.id],
  );
  const viaCommand = await cli('create', receivers.steady.url, '--event', 'image.deleted', '--json');
  t.is(viaCommand.code, 0, viaCommand.stderr);
  const second = createdSchema.parse(JSON.parse(viaCommand.text));
  t.deepEqual(second.events, ['image.deleted']);
  const listed = await cli('list');
  t.deepEqual(
    listed.text
      .trim()
      .split('\n')
      .map((line) => line.split('\t')[0])
      .sort(),
    [created.id, second.id].sort(),
  );

  const refused = await cli('create', 'http://169.254.169.254/');
  t.is(refused.code, 3, 'the server refused it');
  t.regex(refused.stderr, /cloud metadata address/);

  const rotated = await cli('rotate', created.id, '--grace-seconds', '0');
  t.is(rotated.code, 0, rotated.stderr);
  t.regex(rotated.text, /secret \(shown only this once\): whsec_/);
  t.is((await client.webhooks.get(created.id)).secrets.length, 1, 'no grace: the old secret is retired at once');

  const imageId = await uploadAccepted(progimage.baseUrl, await readFixture('320x240.jpg'), 'image/jpeg', key);
  const delivery = await waitForDelivery(progimage, key, created.id, (one) => one.state === 'delivered', `the delivery about ${imageId}`);
  const log = await cli('deliveries', created.id, '--state', 'delivered');
  t.regex(log.text, new RegExp(`^${delivery.id}\timage\\.ready\tdelivered\t1 attempts`));
  const redelivered = await cli('redeliver', created.id, delivery.id);
  t.is(redelivered.text.trim(), `${delivery.id}\tpending`);
  t.like((await client.webhooks.deliveries(created.id)).deliveries[0], { id: delivery.id });
  await client.webhooks.update(created.id, { enabled: false });
  t.like(await client.webhooks.get(created.id), { enabled: false, disabledReason: 'disabled by request' });
  t.is((await cli('enable', created.id)).code, 0);

  t.is((await cli('delete', second.id)).code, 0);
  await client.webhooks.delete(created.id);
  t.deepEqual(await client.webhooks.list(), []);
});
