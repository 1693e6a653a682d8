import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import sharp from 'sharp';
import { portInUse } from '../../infra/local/stack-runner.ts';
import { waitUntil } from '../../lib/wait.ts';
import { request, TEST_AUTH_ENV } from '../support/api.ts';
import { spawnChildService } from '../support/child-service.ts';
import { readFixture } from '../support/fixtures.ts';

/**
 * A stop is often signalled more than once: Ctrl-C reaches every process in
 * the terminal's group and tsx passes it on again, and a supervisor that
 * signals a whole group adds its own SIGTERM. A signal that repeats must not
 * end the process in the middle of its stop.
 */

const PHOTO = '2569067123_aca715a2ee_o.jpg';

test('a signal repeated while the process stops neither ends it early nor drops the request in flight', async (t) => {
  const photo = await readFixture(PHOTO);
  // An upstream that holds its answer: the transformation that fetches from it is in flight until the test lets it go.
  let upstreamAsked = false;
  let answerUpstream = (): void => undefined;
  const upstream = createServer((_req, res) => {
    upstreamAsked = true;
    answerUpstream = () => {
      res.writeHead(200, { 'Content-Type': 'image/jpeg', 'Content-Length': photo.length }).end(photo);
    };
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    upstream.closeAllConnections();
    upstream.close();
  });
  const upstreamHost = `127.0.0.1:${(upstream.address() as AddressInfo).port}`;

  const dataDir = await mkdtemp(join(tmpdir(), 'progimage-stop-signals-'));
  t.teardown(() => rm(dataDir, { recursive: true, force: true }));
  const progimage = await spawnChildService('main.ts', {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    PROGIMAGE_DATA_DIR: dataDir,
    PROGIMAGE_LOG_LEVEL: 'warn',
    PROGIMAGE_FETCH_ALLOW_HOSTS: upstreamHost,
    ...TEST_AUTH_ENV,
  });
  t.teardown(() => progimage.stop());
  await progimage.ready(60_000);

  const inFlight = request(`${progimage.baseUrl}/v1/transform`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ url: `http://${upstreamHost}/photo.jpg`, w: 200, format: 'png' }),
  });
  await waitUntil(() => upstreamAsked, { timeoutMs: 30_000, intervalMs: 20, description: 'the transformation to fetch its input' });

  progimage.signal('SIGINT');
  await waitUntil(async () => !(await portInUse(Number(new URL(progimage.baseUrl).port))), {
    timeoutMs: 10_000,
    intervalMs: 20,
    description: 'the process to stop taking connections',
  });
  progimage.signal('SIGINT');
  progimage.signal('SIGTERM');
  // The process is still stopping: only the request in flight holds it, until its input arrives.
  answerUpstream();

  const reply = await inFlight;
  t.is(reply.status, 200, 'the request in flight is answered');
  t.is((await sharp(reply.bytes).metadata()).width, 200);
  t.deepEqual(await progimage.exited, { code: 0, signal: null }, `a clean stop; its output:\n${progimage.output()}`);
});
