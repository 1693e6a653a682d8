import test from 'ava';
import { HttpError } from '../../lib/http/errors.ts';
import { attachment, downloadDisposition, safeFileName, withoutDownload } from '../../lib/http/download.ts';

const ID = '1b09c5c8-2d0e-4bd2-9a5b-3c1f0f6c2a11';

test('a download name keeps no path, control, invisible or reserved character, and is never hidden', (t) => {
  const cases: [string, string][] = [
    ['holiday', 'holiday.webp'],
    ['../../etc/passwd', '_.._etc_passwd.webp'],
    ['C:\\Users\\me\\cat', 'C__Users_me_cat.webp'],
    ['a\u0000b\r\nc\td', 'abcd.webp'],
    ['invoice\u202Egpj.exe', 'invoicegpj.exe.webp'],
    ['zero\u200Bwidth', 'zerowidth.webp'],
    ['what?*<>|"', 'what______.webp'],
    ['.hidden', 'hidden.webp'],
    ['  spaced   out  ', 'spaced out.webp'],
    ['trailing dots...', 'trailing dots.webp'],
    ['', `${ID}.webp`],
    ['/', `_.webp`],
    ['...', `${ID}.webp`],
    ['\u0000\u0001', `${ID}.webp`],
  ];
  for (const [requested, expected] of cases) t.is(safeFileName(requested, ID, 'webp'), expected, JSON.stringify(requested));
  t.is(Array.from(safeFileName('é'.repeat(400), ID, 'webp')).length, 150 + '.webp'.length, 'at most 150 characters before the extension');
});

test("the extension matches the served format: the name's own when it means that format, else the format's", (t) => {
  t.is(safeFileName('photo.jpeg', ID, 'jpg'), 'photo.jpeg', 'jpeg and jpg are one format');
  t.is(safeFileName('photo.JPG', ID, 'jpg'), 'photo.JPG');
  t.is(safeFileName('photo.png', ID, 'webp'), 'photo.webp', 'another image format is replaced');
  t.is(safeFileName('photo.png.', ID, 'webp'), 'photo.webp', 'trailing dots do not hide the extension');
  t.is(safeFileName('report.v2', ID, 'avif'), 'report.v2.avif', 'what is not an image extension stays part of the name');
  t.is(safeFileName('.png', ID, 'webp'), 'png.webp', 'not hidden');
  t.is(safeFileName('a..png', ID, 'png'), 'a.png');
});

test('Content-Disposition: a plain ASCII name as it is; any other with an ASCII fallback and the exact name in filename* (RFC 6266, RFC 8187)', (t) => {
  t.is(attachment('cat.webp'), 'attachment; filename="cat.webp"');
  t.is(attachment('Été à Paris.jpg'), `attachment; filename="Ete a Paris.jpg"; filename*=UTF-8''%C3%89t%C3%A9%20%C3%A0%20Paris.jpg`);
  t.is(attachment('猫.png'), `attachment; filename="_.png"; filename*=UTF-8''%E7%8C%AB.png`);
  t.is(attachment("100% it's (ok).png"), `attachment; filename="100_ it's (ok).png"; filename*=UTF-8''100%25%20it%27s%20%28ok%29.png`);
});

test('download is read from the query and left out of the transformation; given twice it is a 400', (t) => {
  t.is(downloadDisposition({ w: '10' }, ID, 'image/webp'), null);
  t.is(downloadDisposition({ download: '' }, ID, 'image/jpeg'), `attachment; filename="${ID}.jpg"`);
  t.is(downloadDisposition({ download: 'x/y.png' }, ID, 'image/avif'), 'attachment; filename="x_y.avif"');
  t.deepEqual(withoutDownload({ w: '10', download: 'cat' }), { w: '10' });
  const error = t.throws(() => downloadDisposition({ download: ['a', 'b'] }, ID, 'image/webp'), { instanceOf: HttpError });
  t.is(error.status, 400);
});
