import test from 'ava';
import { TenantOrigins } from '../../lib/auth/tenant-origins.ts';
import type { TenantCollections, TenantRecord } from '../../lib/auth/tenants.ts';
import { imageBytesCorsHeaders, isImageBytesRequest } from '../../lib/http/cors.ts';
import type { FindQuery } from '../../lib/ports/catalog-store.ts';

const ID = '0b7c2f64-4a43-4a4e-9a57-8c7c6f8e3d21';

test('image bytes are a GET or HEAD of an image in a format, a variant or a batch output; nothing else is', (t) => {
  for (const path of [`/v1/images/${ID}.webp`, `/v1/images/${ID}/variants/thumbnail.avif`, `/v1/batches/${ID}/items/3/w200.png`]) {
    t.true(isImageBytesRequest('GET', path), path);
    t.true(isImageBytesRequest('HEAD', path), path);
    t.false(isImageBytesRequest('DELETE', path), path);
    t.false(isImageBytesRequest('OPTIONS', path), path);
  }
  for (const path of [
    '/v1/images',
    `/v1/images/${ID}`,
    `/v1/images/${ID}/stats`,
    `/v1/batches/${ID}`,
    `/v1/batches/${ID}/events`,
    '/v1/openapi.json',
    '/metrics',
  ]) {
    t.false(isImageBytesRequest('GET', path), path);
  }
});

test('image bytes open to any page say so the same way to every request; listed origins are reflected with Vary: Origin; off sends nothing', (t) => {
  const exposed = imageBytesCorsHeaders('*', undefined)['Access-Control-Expose-Headers'] ?? '';
  for (const name of ['Content-Length', 'Content-Range', 'Accept-Ranges', 'ETag', 'Last-Modified', 'Content-Disposition'])
    t.true(exposed.split(', ').includes(name), name);
  t.deepEqual(imageBytesCorsHeaders('*', 'https://a.example'), imageBytesCorsHeaders('*', undefined));
  t.is(imageBytesCorsHeaders('*', 'https://a.example')['Access-Control-Allow-Origin'], '*');

  const listed = ['https://a.example', 'https://b.example'];
  t.deepEqual(imageBytesCorsHeaders(listed, 'https://b.example'), {
    Vary: 'Origin',
    'Access-Control-Allow-Origin': 'https://b.example',
    'Access-Control-Expose-Headers': exposed,
  });
  t.deepEqual(imageBytesCorsHeaders(listed, 'https://c.example'), { Vary: 'Origin' });
  t.deepEqual(imageBytesCorsHeaders(listed, undefined), { Vary: 'Origin' });
  t.deepEqual(imageBytesCorsHeaders([], 'https://a.example'), {});
  for (const headers of [imageBytesCorsHeaders('*', 'https://a.example'), imageBytesCorsHeaders(listed, 'https://a.example')]) {
    t.false('Access-Control-Allow-Credentials' in headers);
  }
});

/** Tenants in a collection that counts its reads and can be made to fail. */
function tenantsWith(origins: readonly (readonly string[])[]) {
  const tenants = origins.map((corsOrigins, index) => ({ id: `tenant-${String(index).padStart(4, '0')}`, corsOrigins }) as TenantRecord);
  const store = { reads: 0, failing: false };
  const find = ({ after, limit }: FindQuery): Promise<TenantRecord[]> => {
    store.reads += 1;
    if (store.failing) return Promise.reject(new Error('the store is down'));
    return Promise.resolve(tenants.filter((tenant) => after === undefined || tenant.id > after).slice(0, limit));
  };
  return { store, collections: { tenants: { find } } as unknown as TenantCollections };
}

test('the origins of every tenant are read once per cache time, page after page, and a failed read is not remembered', async (t) => {
  let now = 0;
  const many = Array.from({ length: 2500 }, (_, index) =>
    index === 2400 ? ['https://last.example'] : index === 0 ? ['https://first.example'] : [],
  );
  const { store, collections } = tenantsWith(many);
  const origins = new TenantOrigins(collections, 5000, () => now);

  t.true(await origins.someTenantAllows('https://first.example'));
  t.true(await origins.someTenantAllows('https://last.example'), 'a tenant on the third page');
  t.false(await origins.someTenantAllows('https://other.example'));
  t.is(store.reads, 3, 'three pages, read once');

  now = 5000;
  store.failing = true;
  await t.throwsAsync(origins.someTenantAllows('https://first.example'), { message: 'the store is down' });
  store.failing = false;
  t.true(await origins.someTenantAllows('https://first.example'), 'read again after the failure');
  t.is(store.reads, 7);
});
