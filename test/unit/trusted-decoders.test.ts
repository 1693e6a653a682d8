import test from 'ava';
import sharp from 'sharp';
import { allowOnlyTrustedDecoders } from '../../lib/imaging/trusted-decoders.ts';
import { readFixture } from '../support/fixtures.ts';

const decodes = (bytes: Buffer): Promise<boolean> =>
  sharp(bytes)
    .png()
    .toBuffer()
    .then(
      () => true,
      () => false,
    );

// One test: the block is process-wide, and this file's process is its own.
test('only the decoders of the accepted formats (and SVG, for masks) run; the rest of libvips is blocked', async (t) => {
  const jpeg = await readFixture('320x240.jpg');
  const png = await readFixture('with-alpha.png');
  const tiff = await readFixture('G31D.TIF');
  const svg = await readFixture('circle.svg');
  t.true(await decodes(png), 'PNG decodes before the block');
  t.true(await decodes(tiff), 'TIFF decodes before the block');

  allowOnlyTrustedDecoders(['jpeg', 'webp']);
  t.true(await decodes(jpeg));
  t.true(await decodes(svg));
  t.false(await decodes(png), 'PNG is not accepted, so its decoder is blocked');
  t.false(await decodes(tiff), 'TIFF is not accepted, so its decoder is blocked');
  t.true(await decodes(await sharp(jpeg).webp().toBuffer()), 'WebP, accepted, still decodes');
});
