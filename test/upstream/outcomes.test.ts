import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import test from 'ava';
import { DEFAULT_TENANT } from '../../lib/ids.ts';
import { request, uploadAccepted } from '../support/api.ts';
import { readFixture } from '../support/fixtures.ts';
import { jpegWithEicarComment } from '../support/images.ts';
import { startOnServers, type ProgImageOnServers } from '../support/on-servers.ts';
import { ingestCredential, outcomeFor, readOutcomes, requestIngest, type OutcomeReader } from '../support/upstream.ts';

/**
 * The outcomes on the real servers: whichever way an image came in (an
 * upstream's request or an HTTP upload), what becomes of it is published on
 * progimage.outcomes.v1 by the component that knows, once per outcome id.
 */

/** An image server that answers each path's first request with `status`, and the image after; `requests` counts them. */
interface OnceFailingServer {
  readonly host: string;
  url(status: number): string;
  readonly requests: Map<string, number>;
  close(): Promise<void>;
}

async function startOnceFailingServer(): Promise<OnceFailingServer> {
  const image = await readFixture('320x240.jpg');
  const requests = new Map<string, number>();
  const server = createServer((req, res) => {
    const path = req.url ?? '';
    const seen = (requests.get(path) ?? 0) + 1;
    requests.set(path, seen);
    const status = Number(/^\/(\d{3})\//.exec(path)?.[1] ?? 200);
    if (seen === 1 && status !== 200) res.writeHead(status).end();
    else res.writeHead(200, { 'Content-Type': 'image/jpeg' }).end(image);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    host,
    url: (status) => `http://${host}/${status}/${randomUUID()}.jpg`,
    requests,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
}

interface Setup {
  readonly servers: ProgImageOnServers;
  readonly outcomes: OutcomeReader;
  readonly images: OnceFailingServer;
}

let setup: Promise<Setup> | undefined;

const upstream = (): Promise<Setup> =>
  (setup ??= (async () => {
    const images = await startOnceFailingServer();
    const servers = await startOnServers('outcomes', { PROGIMAGE_FETCH_ALLOW_HOSTS: images.host });
    return { servers, images, outcomes: await readOutcomes(servers.progimage) };
  })());

test.after.always(async () => {
  if (setup === undefined) return;
  const { servers, outcomes, images } = await setup;
  await outcomes.stop();
  await servers.stop();
  await images.close();
});

test('a proven request that cannot be taken in is answered with image.failed at stage ingest', async (t) => {
  const { servers, outcomes } = await upstream();
  const { progimage } = servers;
  const missing = `incoming/${DEFAULT_TENANT}/${randomUUID()}/missing.jpg`;
  const imageId = await requestIngest(progimage, await ingestCredential(progimage, DEFAULT_TENANT), DEFAULT_TENANT, { key: missing });
  const failed = await outcomes.next(outcomeFor('image.failed', imageId), `image.failed for ${imageId}`);
  t.like(failed, { tenant: DEFAULT_TENANT, payload: { stage: 'ingest', links: { self: `/v1/images/${imageId}` } } });
  if (failed.type !== 'image.failed') throw new Error('narrowed above');
  t.regex(failed.payload.reason, /no blob at/);
});

test('a URL that answers 503 once is fetched again and the image is ready; one that answers 404 fails at once', async (t) => {
  const { servers, outcomes, images } = await upstream();
  const { progimage } = servers;
  const signingKey = await ingestCredential(progimage, DEFAULT_TENANT);
  const unavailable = images.url(503);
  const missing = images.url(404);
  const passing = await requestIngest(progimage, signingKey, DEFAULT_TENANT, { url: unavailable });
  const failing = await requestIngest(progimage, signingKey, DEFAULT_TENANT, { url: missing });
  await outcomes.next(outcomeFor('image.ready', passing), `image.ready for ${passing}`);
  const failed = await outcomes.next(outcomeFor('image.failed', failing), `image.failed for ${failing}`);
  t.like(failed, { payload: { stage: 'ingest' } });
  t.is(images.requests.get(new URL(unavailable).pathname), 2);
  t.is(images.requests.get(new URL(missing).pathname), 1, 'a 404 is not tried again');
});

test('an infected upload is answered with image.infected, naming what the scanner found', async (t) => {
  const { servers, outcomes } = await upstream();
  const imageId = await uploadAccepted(servers.progimage.baseUrl, await jpegWithEicarComment());
  const infected = await outcomes.next(outcomeFor('image.infected', imageId), `image.infected for ${imageId}`);
  if (infected.type !== 'image.infected') throw new Error('narrowed above');
  t.true(
    infected.payload.signatures.some((name) => name.startsWith('ProgImage.Test.EICAR')),
    infected.payload.signatures.join(', '),
  );
  t.false(outcomes.outcomes.some(outcomeFor('image.ready', imageId)));
});

test('an image deleted over HTTP is answered with image.deleted, after its image.ready; each outcome is published once', async (t) => {
  const { servers, outcomes } = await upstream();
  const { baseUrl } = servers.progimage;
  const imageId = await uploadAccepted(baseUrl, await readFixture('320x240.jpg'));
  await outcomes.next(outcomeFor('image.ready', imageId), `image.ready for ${imageId}`);
  t.is((await request(`${baseUrl}/v1/images/${imageId}`, { method: 'DELETE' })).status, 204);
  const deleted = await outcomes.next(outcomeFor('image.deleted', imageId), `image.deleted for ${imageId}`);
  t.like(deleted, { tenant: DEFAULT_TENANT, imageId });
  const ofImage = outcomes.outcomes.filter((outcome) => outcome.imageId === imageId).map((outcome) => outcome.type);
  t.deepEqual(ofImage, ['image.ready', 'image.deleted']);
});
