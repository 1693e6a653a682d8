import { randomUUID } from 'node:crypto';
import { buffer } from 'node:stream/consumers';
import test from 'ava';
import { createS3Client } from '../../lib/s3/client.ts';
import { readFixture } from '../support/fixtures.ts';
import { serverConfig } from '../support/servers.ts';

test('an image put with its content type is stat-ed, read back byte for byte, and removed', async (t) => {
  const { s3 } = await serverConfig();
  const client = createS3Client(s3);
  if (!(await client.bucketExists(s3.bucket))) await client.makeBucket(s3.bucket, s3.region);

  const image = await readFixture('flowers.jpeg');
  const key = `smoke/${randomUUID()}.jpg`;
  await client.putObject(s3.bucket, key, image, image.length, { 'Content-Type': 'image/jpeg' });

  const stat = await client.statObject(s3.bucket, key);
  t.is(stat.size, image.length);
  t.is(stat.metaData['content-type'], 'image/jpeg');

  const readBack = await buffer(await client.getObject(s3.bucket, key));
  t.true(readBack.equals(image));

  await client.removeObject(s3.bucket, key);
  await t.throwsAsync(client.statObject(s3.bucket, key), { code: 'NotFound' });
});
