import { randomUUID } from 'node:crypto';
import test, { type ExecutionContext } from 'ava';
import { revokeIngestCredential, openIngestCredentials } from '../../lib/auth/ingest-credentials.ts';
import { signIngestRequest, type IngestSigningKey } from '../../lib/auth/ingest-signatures.ts';
import { createTenant, openTenantCollections, UNLIMITED } from '../../lib/auth/tenants.ts';
import { deadLetterSchema, type DeadLetter } from '../../lib/events/dead-letter.ts';
import type { Outcome, OutcomeOf, RejectionReason } from '../../lib/events/outcomes.ts';
import { TOPICS } from '../../lib/events/topics.ts';
import type { Tenant } from '../../lib/ids.ts';
import type { Subscription } from '../../lib/ports/event-bus.ts';
import { waitUntil } from '../../lib/wait.ts';
import { bearer, imageSchema, json, request, uploadAccepted, waitForFinalStatus } from '../support/api.ts';
import { readFixture } from '../support/fixtures.ts';
import { startOnServers, type ProgImageOnServers } from '../support/on-servers.ts';
import { parsePrometheusText, sampleSum } from '../support/prometheus.ts';
import type { RunningProgImage } from '../support/progimage.ts';
import {
  ingestCredential,
  ingestRequest,
  ingestTopicName,
  outcomeFor,
  publishIngestRequest,
  readOutcomes,
  requestIngest,
  type OutcomeReader,
} from '../support/upstream.ts';

/**
 * Upstream systems on Kafka, on the real servers: a request counts only when
 * it proves its tenant; every request is answered on the outcome topic, and
 * one that is refused stores nothing and changes no other tenant's image.
 */

/** Tenants of this run only: their blob prefixes hold nothing of other runs on the shared bucket. */
const RUN = randomUUID().slice(0, 8);
const ACME = `acme-${RUN}`;
const BRAVO = `bravo-${RUN}`;

/** A tenant of the run, with an API key (to look at its images) and an ingest credential (to request them). */
interface Party {
  readonly tenant: Tenant;
  readonly apiKey: string;
  readonly signingKey: IngestSigningKey;
}

interface Setup {
  readonly servers: ProgImageOnServers;
  readonly progimage: RunningProgImage;
  readonly acme: Party;
  readonly bravo: Party;
  readonly outcomes: OutcomeReader;
  readonly deadLetters: readonly DeadLetter[];
  readonly stopDeadLetters: Subscription;
}

let setup: Promise<Setup> | undefined;

async function start(): Promise<Setup> {
  const servers = await startOnServers('upstream');
  const { progimage } = servers;
  const collections = await openTenantCollections(await progimage.catalogStore());
  const party = async (tenant: Tenant): Promise<Party> => {
    const created = await createTenant(collections, tenant, UNLIMITED);
    if (created === null) throw new Error(`tenant ${tenant} exists`);
    return { tenant, apiKey: created.apiKey, signingKey: await ingestCredential(progimage, tenant) };
  };
  const deadLetters: DeadLetter[] = [];
  const stopDeadLetters = await progimage.bus.subscribe(`dead-letters-${RUN}`, [TOPICS.deadLetter], (message) => {
    deadLetters.push(deadLetterSchema.parse(JSON.parse(message.value.toString('utf8'))));
    return Promise.resolve();
  });
  return {
    servers,
    progimage,
    acme: await party(ACME),
    bravo: await party(BRAVO),
    outcomes: await readOutcomes(progimage),
    deadLetters,
    stopDeadLetters,
  };
}

const upstream = (): Promise<Setup> => (setup ??= start());

test.after.always(async () => {
  if (setup === undefined) return;
  const { servers, outcomes, stopDeadLetters } = await setup;
  await Promise.all([outcomes.stop(), stopDeadLetters.stop()]);
  await servers.stop();
});

/** Puts an image in the tenant's incoming/ folder, as its upstream does before asking; resolves to its key. */
async function putIncoming(t: ExecutionContext, { progimage }: Setup, tenant: Tenant, fixture = '320x240.jpg'): Promise<string> {
  const key = `incoming/${tenant}/${randomUUID()}/${fixture}`;
  await progimage.blobs.put(key, await readFixture(fixture), { contentType: 'application/octet-stream' });
  t.teardown(() => progimage.blobs.delete(key));
  return key;
}

/** Every blob of `tenant` under this image id: none may exist for a refused request. */
async function blobsOf({ progimage }: Setup, tenant: Tenant, imageId: string): Promise<string[]> {
  const keys: string[] = [];
  for (const prefix of [`originals/${tenant}/${imageId}`, `quarantine/${tenant}/${imageId}`, `derived/${tenant}/${imageId}/`]) {
    for await (const blob of progimage.blobs.list(prefix)) keys.push(blob.key);
  }
  return keys;
}

/** The first rejection `matches` accepts, once it has arrived. */
async function rejectionOf(
  { outcomes }: Setup,
  matches: (outcome: OutcomeOf<'ingest.rejected'>) => boolean,
  description: string,
): Promise<OutcomeOf<'ingest.rejected'>> {
  const isRejection = (outcome: Outcome): outcome is OutcomeOf<'ingest.rejected'> => outcome.type === 'ingest.rejected';
  return (await outcomes.next((outcome) => isRejection(outcome) && matches(outcome), description)) as OutcomeOf<'ingest.rejected'>;
}

test('a signed request for an object under incoming/ becomes image.ready, read by two consumer groups; the object is removed once taken in', async (t) => {
  const setup = await upstream();
  const { progimage, outcomes } = setup;
  const key = await putIncoming(t, setup, ACME);
  const second = await readOutcomes(progimage);
  t.teardown(() => second.stop());

  const imageId = await requestIngest(progimage, setup.acme.signingKey, ACME, { key, filename: 'photo.jpg' });

  const ready = await outcomes.next(outcomeFor('image.ready', imageId), `image.ready for ${imageId}`);
  const alsoReady = await second.next(outcomeFor('image.ready', imageId), `image.ready for ${imageId} in a second group`);
  t.is(alsoReady.eventId, ready.eventId, 'one outcome, read by each group');
  t.like(ready, { tenant: ACME, schemaVersion: 1, payload: { width: 320, height: 240, expiresAt: null } });
  if (ready.type !== 'image.ready') throw new Error('narrowed above');
  t.deepEqual(ready.payload.links, {
    self: `/v1/images/${imageId}`,
    image: `/v1/images/${imageId}.jpg`,
    webp: `/v1/images/${imageId}.webp`,
  });
  t.true(ready.payload.variants.length > 0);
  const served = await request(`${progimage.baseUrl}${ready.payload.links.webp}`, { headers: bearer(setup.acme.apiKey) });
  t.is(served.status, 200, 'the link serves the image to the tenant');
  t.is(await progimage.blobs.stat(key), null, 'the incoming object is removed once taken in');
});

// Serial: they count what the intake consumer handled, which a test running beside them would add to.
test.serial(
  'a request for a URL is fetched like an HTTP URL upload, with its ttl; a retry with the same idempotencyKey is the same request',
  async (t) => {
    const setup = await upstream();
    const { progimage, outcomes, servers } = setup;
    const signingKey = setup.bravo.signingKey;
    const imageId = await requestIngest(progimage, signingKey, BRAVO, {
      url: servers.fixtures.url('320x240.jpg'),
      ttl: 3600,
      idempotencyKey: 'order-42',
    });

    const ready = await outcomes.next(outcomeFor('image.ready', imageId), `image.ready for ${imageId}`);
    if (ready.type !== 'image.ready') throw new Error('narrowed above');
    const expiresIn = Date.parse(ready.payload.expiresAt ?? '') - Date.now();
    t.true(expiresIn > 3500_000 && expiresIn <= 3600_000, `expires in ${expiresIn} ms`);

    const intakes = await handledBy(progimage, 'progimage-intake');
    await requestIngest(progimage, signingKey, BRAVO, { url: servers.fixtures.url('flowers.jpeg'), idempotencyKey: 'order-42' }, imageId);
    await waitForHandled(progimage, 'progimage-intake', intakes + 1);
    const image = imageSchema.parse(
      json(await request(`${progimage.baseUrl}/v1/images/${imageId}`, { headers: bearer(setup.bravo.apiKey) })),
    );
    t.like(image, { status: 'ready', width: 320, height: 240 }, 'the retry changed nothing');

    await requestIngest(progimage, signingKey, BRAVO, { url: servers.fixtures.url('flowers.jpeg') }, imageId);
    const reused = await rejectionOf(setup, (outcome) => outcome.imageId === imageId, `the rejection of the reuse of ${imageId}`);
    t.like(reused, { tenant: BRAVO, payload: { reason: 'image_id_reused' } });
  },
);

test.serial('a repeated request (a replay, a redelivery) after its object was taken in changes nothing', async (t) => {
  const setup = await upstream();
  const { progimage, outcomes } = setup;
  const key = await putIncoming(t, setup, ACME);
  const imageId = randomUUID();
  const value = ingestRequest({ imageId, tenant: ACME }, { key });
  const headers = signIngestRequest(setup.acme.signingKey, ingestTopicName(progimage), value);
  await progimage.bus.publish(TOPICS.ingestRequested, [{ key: imageId, value, headers }]);
  await outcomes.next(outcomeFor('image.ready', imageId), `image.ready for ${imageId}`);

  const intakes = await handledBy(progimage, 'progimage-intake');
  await progimage.bus.publish(TOPICS.ingestRequested, [{ key: imageId, value, headers }]);
  await waitForHandled(progimage, 'progimage-intake', intakes + 1);
  const image = await waitForFinalStatus(progimage.baseUrl, imageId, setup.acme.apiKey);
  t.is(image.status, 'ready', 'not failed for want of the object it took in before');
  t.false(outcomes.outcomes.some(outcomeFor('image.failed', imageId)));
});

/** How many messages a consumer group of the deployment is done with (handled or given up on), from its /metrics. */
async function handledBy(progimage: RunningProgImage, group: string): Promise<number> {
  const reply = await request(`${progimage.baseUrl}/metrics`);
  return sampleSum(parsePrometheusText(reply.bytes.toString('utf8')), 'progimage_stage_duration_seconds_count', { group });
}

async function waitForHandled(progimage: RunningProgImage, group: string, count: number): Promise<void> {
  await waitUntil(async () => (await handledBy(progimage, group)) >= count, {
    timeoutMs: 60_000,
    intervalMs: 100,
    description: `${group} to be done with ${count} messages`,
  });
}

interface RefusedRequest {
  readonly name: string;
  readonly reason: RejectionReason;
  /** The tenant the request names, for whom nothing may be stored. */
  readonly tenant: Tenant;
  /** The message: its key, value and headers, given the image id it names and a key under the tenant's incoming/. */
  readonly message: (setup: Setup, imageId: string, key: string) => { key: string; value: Buffer; headers: Record<string, string> };
  /** Whether the rejection can name the image id (the value is readable). */
  readonly namesImage?: false;
}

const signedAs = (setup: Setup, signer: 'acme' | 'bravo', value: Buffer, now?: number) =>
  signIngestRequest(setup[signer].signingKey, ingestTopicName(setup.progimage), value, now);

const REFUSED: readonly RefusedRequest[] = [
  {
    name: 'an unsigned request',
    reason: 'unsigned',
    tenant: BRAVO,
    message: (_setup, imageId, key) => ({ key: imageId, value: ingestRequest({ imageId, tenant: BRAVO }, { key }), headers: {} }),
  },
  {
    name: 'a signature made with another secret',
    reason: 'signature_invalid',
    tenant: BRAVO,
    message: (setup, imageId, key) => {
      const value = ingestRequest({ imageId, tenant: BRAVO }, { key });
      const keyId = setup.bravo.signingKey.keyId;
      return {
        key: imageId,
        value,
        headers: signIngestRequest({ keyId, secret: `ingsec_${'x'.repeat(43)}` }, ingestTopicName(setup.progimage), value),
      };
    },
  },
  {
    name: 'a signed message whose value was changed after signing',
    reason: 'signature_invalid',
    tenant: BRAVO,
    message: (setup, imageId, key) => {
      const value = ingestRequest({ imageId, tenant: BRAVO }, { key });
      return {
        key: imageId,
        value: Buffer.from(value.toString('utf8').replace('"payload":{', '"payload":{"ttl":1,')),
        headers: signedAs(setup, 'bravo', value),
      };
    },
  },
  {
    name: 'a request signed for another topic',
    reason: 'signature_invalid',
    tenant: BRAVO,
    message: (setup, imageId, key) => {
      const value = ingestRequest({ imageId, tenant: BRAVO }, { key });
      return { key: imageId, value, headers: signIngestRequest(setup.bravo.signingKey, 'other.ingest.requested', value) };
    },
  },
  {
    name: "a forged tenant: signed with acme's credential, naming bravo",
    reason: 'tenant_mismatch',
    tenant: BRAVO,
    message: (setup, imageId, key) => {
      const value = ingestRequest({ imageId, tenant: BRAVO }, { key });
      return { key: imageId, value, headers: signedAs(setup, 'acme', value) };
    },
  },
  {
    name: 'a tenant that does not exist',
    reason: 'unknown_tenant',
    tenant: `ghost-${RUN}`,
    message: (setup, imageId, key) => {
      const value = ingestRequest({ imageId, tenant: `ghost-${RUN}` }, { key });
      return { key: imageId, value, headers: signedAs(setup, 'acme', value) };
    },
  },
  {
    name: 'a key id never issued',
    reason: 'unknown_credential',
    tenant: BRAVO,
    message: (setup, imageId, key) => {
      const value = ingestRequest({ imageId, tenant: BRAVO }, { key });
      return {
        key: imageId,
        value,
        headers: signIngestRequest({ keyId: 'ing_AAAAAAAAAAAAAAAA', secret: 'ingsec_unknown' }, ingestTopicName(setup.progimage), value),
      };
    },
  },
  {
    name: 'a signature two hours old (a replay)',
    reason: 'timestamp_out_of_range',
    tenant: BRAVO,
    message: (setup, imageId, key) => {
      const value = ingestRequest({ imageId, tenant: BRAVO }, { key });
      return { key: imageId, value, headers: signedAs(setup, 'bravo', value, Date.now() - 2 * 3600_000) };
    },
  },
  {
    name: 'a value that is not JSON',
    reason: 'malformed',
    tenant: BRAVO,
    namesImage: false,
    message: (setup, imageId) => {
      const value = Buffer.from(`{"imageId": "${imageId}", `);
      return { key: imageId, value, headers: signedAs(setup, 'bravo', value) };
    },
  },
  {
    name: 'a request naming both a key and a URL',
    reason: 'malformed',
    tenant: BRAVO,
    message: (setup, imageId, key) => {
      const value = Buffer.from(
        JSON.stringify({
          ...JSON.parse(ingestRequest({ imageId, tenant: BRAVO }, { key }).toString('utf8')),
          payload: { key, url: 'https://example.com/a.jpg' },
        }),
      );
      return { key: imageId, value, headers: signedAs(setup, 'bravo', value) };
    },
  },
  {
    name: "an object under another tenant's incoming/ folder",
    reason: 'malformed',
    tenant: BRAVO,
    message: (setup, imageId) => {
      const value = ingestRequest({ imageId, tenant: BRAVO }, { key: `incoming/${ACME}/photo.jpg` });
      return { key: imageId, value, headers: signedAs(setup, 'bravo', value) };
    },
  },
  {
    name: 'a message keyed by something other than its image id',
    reason: 'malformed',
    tenant: BRAVO,
    message: (setup, imageId, key) => {
      const value = ingestRequest({ imageId, tenant: BRAVO }, { key });
      return { key: `not-the-image-id-${imageId}`, value, headers: signedAs(setup, 'bravo', value) };
    },
  },
];

test('a request that does not prove its tenant, or is not a valid request, is rejected on the outcome topic and dead-lettered, and stores nothing', async (t) => {
  const setup = await upstream();
  const { progimage } = setup;
  for (const refused of REFUSED) {
    const imageId = randomUUID();
    const key = await putIncoming(t, setup, refused.tenant);
    const message = refused.message(setup, imageId, key);
    await progimage.bus.publish(TOPICS.ingestRequested, [message]);
    const named = refused.namesImage === false ? null : imageId;
    const rejected = await rejectionOf(setup, (outcome) => outcome.payload.request.key === message.key, `the rejection of ${refused.name}`);
    t.is(rejected.payload.reason, refused.reason, `${refused.name}: ${rejected.payload.message}`);
    t.is(rejected.tenant, null, `${refused.name}: no tenant was proven`);
    t.is(rejected.imageId, named, `${refused.name}: names the image id when it can be read`);
    t.deepEqual(await blobsOf(setup, refused.tenant, imageId), [], `${refused.name}: nothing stored`);
    t.not(await progimage.blobs.stat(key), null, `${refused.name}: the incoming object is left alone`);
    const reply = await request(`${progimage.baseUrl}/v1/images/${imageId}`, { headers: bearer(setup.bravo.apiKey) });
    t.is(reply.status, 404, `${refused.name}: no image`);
    t.true(
      setup.deadLetters.some(
        (letter) =>
          letter.offset === rejected.payload.request.offset &&
          letter.partition === rejected.payload.request.partition &&
          letter.group === 'progimage-ingest',
      ),
      `${refused.name}: dead-lettered`,
    );
  }
  const samples = parsePrometheusText((await request(`${progimage.baseUrl}/metrics`)).bytes.toString('utf8'));
  for (const reason of new Set(REFUSED.map((refused) => refused.reason))) {
    const expected = REFUSED.filter((refused) => refused.reason === reason).length;
    t.true(sampleSum(samples, 'progimage_ingest_rejections_total', { reason }) >= expected, `the metric counts ${reason}`);
  }
});

test("a request for another tenant's image id is rejected: that image stays as it was, and nothing is stored for the requester", async (t) => {
  const setup = await upstream();
  const { progimage } = setup;
  const imageId = await requestIngest(progimage, setup.acme.signingKey, ACME, { key: await putIncoming(t, setup, ACME) });
  await setup.outcomes.next(outcomeFor('image.ready', imageId), `image.ready for ${imageId}`);
  const before = await waitForFinalStatus(progimage.baseUrl, imageId, setup.acme.apiKey);

  const bravoKey = await putIncoming(t, setup, BRAVO, 'flowers.jpeg');
  await requestIngest(progimage, setup.bravo.signingKey, BRAVO, { key: bravoKey }, imageId);

  const rejected = await rejectionOf(setup, (outcome) => outcome.imageId === imageId, `the rejection of bravo's request for ${imageId}`);
  t.like(rejected, { tenant: BRAVO, payload: { reason: 'image_id_taken', request: { tenant: BRAVO } } });
  t.deepEqual(await blobsOf(setup, BRAVO, imageId), [], 'nothing stored for bravo');
  t.not(await progimage.blobs.stat(bravoKey), null, "bravo's object is left alone");
  t.is((await request(`${progimage.baseUrl}/v1/images/${imageId}`, { headers: bearer(setup.bravo.apiKey) })).status, 404);
  const after = imageSchema.parse(json(await request(`${progimage.baseUrl}/v1/images/${imageId}`, { headers: bearer(setup.acme.apiKey) })));
  t.deepEqual(after, before, "acme's image is untouched");

  const httpImage = await uploadAccepted(progimage.baseUrl, await readFixture('320x240.jpg'), 'image/jpeg', setup.bravo.apiKey);
  await requestIngest(progimage, setup.acme.signingKey, ACME, { key: await putIncoming(t, setup, ACME) }, httpImage);
  const taken = await rejectionOf(setup, (outcome) => outcome.imageId === httpImage, `the rejection of acme's request for ${httpImage}`);
  t.is(taken.payload.reason, 'image_id_taken', 'an id uploaded over HTTP is held as well');
});

test('a revoked credential signs nothing more', async (t) => {
  const setup = await upstream();
  const { progimage } = setup;
  const signingKey = await ingestCredential(progimage, ACME);
  await revokeIngestCredential(await openIngestCredentials(await progimage.catalogStore()), signingKey.keyId);
  const imageId = await requestIngest(progimage, signingKey, ACME, { key: await putIncoming(t, setup, ACME) });
  const rejected = await rejectionOf(setup, (outcome) => outcome.imageId === imageId, `the rejection of ${imageId}`);
  t.is(rejected.payload.reason, 'credential_revoked');
  t.deepEqual(await blobsOf(setup, ACME, imageId), []);
});

test('bytes that are no request at all, unsigned, are answered with a rejection, and the next request is taken in', async (t) => {
  const setup = await upstream();
  const { progimage } = setup;
  const garbage = `garbage-${randomUUID()}`;
  await publishIngestRequest(progimage, garbage, Buffer.from([0xff, 0xfe, 0x00]), null);
  const rejected = await rejectionOf(setup, (outcome) => outcome.payload.request.key === garbage, 'the rejection of the garbage');
  t.like(rejected, { imageId: null, tenant: null, payload: { reason: 'unsigned', request: { keyId: null, tenant: null } } });
  const imageId = await requestIngest(progimage, setup.acme.signingKey, ACME, { key: await putIncoming(t, setup, ACME) });
  await setup.outcomes.next(outcomeFor('image.ready', imageId), `image.ready for ${imageId} after the garbage`);
  t.pass();
});
