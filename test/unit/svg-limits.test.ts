import test from 'ava';
import { identifyImage } from '../../lib/imaging/identify-image.ts';
import { DomainError } from '../../lib/errors.ts';
import { answerOf } from '../support/error-answer.ts';
import { pngDeclaring, readFixture } from '../support/fixtures.ts';

const svg = (attributes: string, inner = '') => Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" ${attributes}>${inner}</svg>`);
const embedding = (png: Buffer) =>
  svg('width="64" height="64"', `<image width="64" height="64" href="data:image/png;base64,${png.toString('base64')}"/>`);

const refusal = async (bytes: Buffer) => {
  const error = await identifyImage(bytes, ['svg']).then(
    () => null,
    (cause: unknown) => cause,
  );
  return error instanceof DomainError ? { status: answerOf(error).status, code: error.code, message: error.message } : error;
};

test('an SVG declaring 100000x100000 is refused before it is stored', async (t) => {
  t.like(await refusal(svg('width="100000" height="100000"')), {
    status: 422,
    code: 'too_many_pixels',
    message: 'the SVG is 100000x100000: more than 100000000 pixels',
  });
});

test('an SVG sized by its viewBox alone is held to the same limit', async (t) => {
  t.like(await refusal(svg('viewBox="0 0 30000 30000"')), { status: 422, code: 'too_many_pixels' });
});

for (const side of [16_000, 30_000, 65_536]) {
  test(`an SVG inlining a ${side}x${side} PNG is refused, not rendered transparent`, async (t) => {
    t.like(await refusal(embedding(await pngDeclaring(side, side))), {
      status: 422,
      code: 'too_many_pixels',
      message: `an image inlined in the SVG is ${side}x${side}: more than 100000000 pixels`,
    });
  });
}

test('an SVG inlining a raster that cannot be read is refused', async (t) => {
  t.like(await refusal(embedding(Buffer.from('not a png at all'))), { status: 422, code: 'unreadable_image' });
});

test('an SVG inlining a small real PNG, and the fixtures, are accepted', async (t) => {
  t.like(await identifyImage(embedding(await readFixture('with-alpha.png')), ['svg']), { format: 'svg', width: 64, height: 64 });
  t.like(await identifyImage(await readFixture('circle.svg'), ['svg']), { format: 'svg' });
  t.like(await identifyImage(await readFixture('check.svg'), ['svg']), { format: 'svg' });
});
