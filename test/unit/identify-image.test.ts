import test from 'ava';
import sharp from 'sharp';
import { identifyImage } from '../../lib/imaging/identify-image.ts';
import { readFixture } from '../support/fixtures.ts';

for (const orientation of [1, 2, 3, 4, 5, 6, 7, 8]) {
  test(`a JPEG with EXIF orientation ${orientation} is identified with the upright size libvips turns it to`, async (t) => {
    const bytes = await readFixture(`Landscape_${orientation}.jpg`);
    const identified = await identifyImage(bytes, ['jpeg']);
    const { autoOrient } = await sharp(bytes).metadata();

    t.deepEqual(identified.uprightSize, { width: autoOrient.width, height: autoOrient.height });
    t.deepEqual(identified.uprightSize, { width: 600, height: 450 });
  });
}

test('formats whose header may hold an orientation the header parser does not read have no upright size', async (t) => {
  for (const name of ['with-alpha.png', '4.webp', 'pitm.avif']) {
    const identified = await identifyImage(await readFixture(name), ['png', 'webp', 'avif']);
    t.is(identified.uprightSize, undefined, name);
  }
});
