import { randomUUID } from 'node:crypto';
import test from 'ava';
import { anonymousRequest, bearer, errorSchema, json, uploadAccepted, waitForFinalStatus, type Reply } from '../support/api.ts';
import { readFixture } from '../support/fixtures.ts';
import { admin, printedKey, startSecured, type SecuredProgImage } from '../support/secured.ts';

/*
 * Heavy and cheap transformations of stored images on one process with two
 * slots, on the real servers. The bound: a cheap request never waits behind
 * heavy ones (heavy work never takes the last slot), so it is answered before
 * the second of ten heavy requests sent before it — whoever sent them.
 */

const RUN = randomUUID().slice(0, 8);
const HEAVY_TENANT = `heavy-${RUN}`;
const CHEAP_TENANT = `cheap-${RUN}`;

interface Setup {
  readonly secured: SecuredProgImage;
  readonly keys: Readonly<Record<string, string>>;
  /** A 2725x2225 photo of each tenant, ready. */
  readonly images: Readonly<Record<string, string>>;
}

let setup: Promise<Setup> | undefined;
const ready = () =>
  (setup ??= (async () => {
    const secured = await startSecured('fair-transforms', { PROGIMAGE_MAX_CONCURRENT_TRANSFORMS: '2' });
    const keys: Record<string, string> = {};
    const images: Record<string, string> = {};
    for (const tenant of [HEAVY_TENANT, CHEAP_TENANT]) {
      const key = printedKey(await admin(secured.env, 'tenant', 'create', tenant));
      const id = await uploadAccepted(
        secured.running.baseUrl,
        await readFixture('2569067123_aca715a2ee_o.jpg'),
        'application/octet-stream',
        key,
      );
      if ((await waitForFinalStatus(secured.running.baseUrl, id, key)).status !== 'ready')
        throw new Error(`the image of ${tenant} is not ready`);
      keys[tenant] = key;
      images[tenant] = id;
    }
    return { secured, keys, images };
  })());

test.after.always(async () => {
  if (setup !== undefined) await (await setup).secured.stop();
});

const transform = (s: Setup, tenant: string, query: string, extension = 'jpg'): Promise<Reply> =>
  anonymousRequest(`${s.secured.running.baseUrl}/v1/images/${s.images[tenant]}.${extension}?${query}`, {
    headers: bearer(s.keys[tenant] ?? ''),
  });

for (const cheapTenant of [HEAVY_TENANT, CHEAP_TENANT]) {
  const who = cheapTenant === HEAVY_TENANT ? 'the same tenant' : 'another tenant';
  test.serial(
    `ten heavy transformations, then a cheap one from ${who}: the cheap one is answered before the second heavy one`,
    async (t) => {
      t.timeout(240_000);
      const s = await ready();
      const finished: string[] = [];
      const tracked = (name: string, reply: Promise<Reply>) =>
        reply.then((answer) => {
          finished.push(name);
          return answer;
        });
      // Every request a little different (from each other and from the other test's): identical ones would share one transformation.
      const variation = cheapTenant === HEAVY_TENANT ? 0 : 1;
      const heavy = Array.from({ length: 10 }, (_, index) =>
        tracked(`heavy-${index}`, transform(s, HEAVY_TENANT, `blur=${60 + index}&q=${70 + variation}`)),
      );
      const cheap = await tracked('cheap', transform(s, cheapTenant, `w=${100 + variation}`));
      t.is(cheap.status, 200, cheap.bytes.toString('utf8', 0, 300));
      t.true(finished.indexOf('cheap') <= 1, `finished before the cheap one: ${finished.slice(0, finished.indexOf('cheap')).join(', ')}`);
      for (const reply of await Promise.all(heavy)) t.is(reply.status, 200, reply.bytes.toString('utf8', 0, 300));
    },
  );
}

test.serial(
  'a transformation estimated past the cost budget is refused before any pixel is touched: 422 too_costly naming the limit',
  async (t) => {
    const s = await ready();
    const reply = await transform(s, HEAVY_TENANT, 'w=8000&enlarge=1&effort=9', 'avif');
    t.is(reply.status, 422);
    const body = errorSchema.parse(json(reply)).error;
    t.is(body.code, 'too_costly');
    t.like(body, { maxCostMs: 20_000 });
  },
);
