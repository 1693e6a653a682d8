import test from 'ava';
import sharp from 'sharp';
import { allowOnlyTrustedDecoders } from '../../lib/imaging/trusted-decoders.ts';
import { readFixture } from '../support/fixtures.ts';

// A file of its own: the block is process-wide. Tests (and `npm start`) start
// several services in one process, each applying the same accepted formats
// while the others decode.
test('applying the same accepted formats again never blocks, even for a moment, a decode that is under way', async (t) => {
  const png = await readFixture('with-alpha.png');
  allowOnlyTrustedDecoders(['jpeg', 'png']);
  const failures: string[] = [];
  const decodes = Array.from({ length: 400 }, () =>
    sharp(png)
      .resize(8)
      .raw()
      .toBuffer()
      .catch((error: unknown) => {
        failures.push(String(error));
      }),
  );
  let applied = 0;
  const reapply = setInterval(() => {
    for (let index = 0; index < 200; index++) allowOnlyTrustedDecoders(['png', 'jpeg']);
    applied += 200;
  }, 0);
  await Promise.all(decodes);
  clearInterval(reapply);
  t.true(applied > 0, 'the formats were applied again while decodes ran');
  t.deepEqual(failures, []);
});
