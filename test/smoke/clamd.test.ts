import { Readable } from 'node:stream';
import test from 'ava';
import { connectClamd } from '../../lib/clamd/client.ts';
import { EICAR, readFixture } from '../support/fixtures.ts';
import { serverConfig } from '../support/servers.ts';

async function scan(bytes: Buffer): Promise<{ isInfected: boolean; viruses: string[] }> {
  const { scan: settings } = await serverConfig();
  const clam = await connectClamd(settings.clamd);
  return clam.scanStream(Readable.from([bytes]));
}

test('clamd over TCP calls the EICAR test file infected', async (t) => {
  const verdict = await scan(EICAR);
  t.true(verdict.isInfected);
  t.true(
    verdict.viruses.some((name) => name.startsWith('ProgImage.Test.EICAR')),
    verdict.viruses.join(', '),
  );
});

test('clamd finds EICAR appended to a real JPEG by its body signature', async (t) => {
  const verdict = await scan(Buffer.concat([await readFixture('320x240.jpg'), EICAR]));
  t.true(verdict.isInfected);
  // clamd marks signatures from outside the official database as .UNOFFICIAL.
  t.deepEqual(verdict.viruses, ['ProgImage.Test.EICAR.Body.UNOFFICIAL']);
});

test('clamd passes a real photo as clean', async (t) => {
  const verdict = await scan(await readFixture('flowers.jpeg'));
  t.false(verdict.isInfected);
  t.deepEqual(verdict.viruses, []);
});
