import test from 'ava';
import { instream } from '../../bench/bare-instream.ts';
import { EICAR, readFixture } from '../support/fixtures.ts';
import { serverConfig } from '../support/servers.ts';

// bench:transform's limit with the scan must pay for a whole scan: a clean image passes, and what clamd finds rejects.

const clamdAddress = async () => {
  const { host, port } = (await serverConfig()).scan.clamd;
  return { host, port };
};

test("the limit's bare INSTREAM resolves for a clean image", async (t) => {
  await t.notThrowsAsync(instream(await clamdAddress(), await readFixture('2569067123_aca715a2ee_o.jpg')));
});

test("the limit's bare INSTREAM sends every chunk: EICAR after an 829 KB image is found", async (t) => {
  const image = await readFixture('2569067123_aca715a2ee_o.jpg');

  await t.throwsAsync(instream(await clamdAddress(), Buffer.concat([image, EICAR])), {
    message: /answered INSTREAM with "stream: ProgImage\.Test\.EICAR\.Body\.UNOFFICIAL FOUND"/,
  });
});
