import { randomUUID } from 'node:crypto';
import test from 'ava';
import { MongoClient, MongoServerError } from 'mongodb';
import { serverConfig } from '../support/servers.ts';

interface ProbeDocument {
  readonly imageId: string;
  readonly status: string;
}

test('a document is inserted and found, and a unique index refuses its duplicate with code 11000', async (t) => {
  const { mongo } = await serverConfig();
  const client = new MongoClient(mongo.url, { serverSelectionTimeoutMS: 5000 });
  const collection = client.db(mongo.database).collection<ProbeDocument>(`smoke_${randomUUID().replaceAll('-', '')}`);
  t.teardown(async () => {
    await collection.drop();
    await client.close();
  });

  await collection.createIndex({ imageId: 1 }, { unique: true }, undefined);
  const imageId = randomUUID();
  await collection.insertOne({ imageId, status: 'uploaded' });

  const found = await collection.findOne({ imageId }, { projection: { _id: 0 } });
  t.deepEqual(found, { imageId, status: 'uploaded' });

  const duplicate = await t.throwsAsync(collection.insertOne({ imageId, status: 'again' }), {
    instanceOf: MongoServerError,
  });
  t.is(duplicate.code, 11000);
  t.is(await collection.countDocuments({ imageId }), 1);
});
