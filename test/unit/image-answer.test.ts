import test from 'ava';
import { imageCacheControl } from '../../lib/http/cache-control.ts';
import { answerImageRequest, type ImageAnswer, type ImageRequest, type Representation } from '../../lib/http/image-answer.ts';

/*
 * How image bytes are answered, whichever path serves them: the headers of a
 * GET, HEAD, 304 by ETag or date, 206 for one range, 416 for none, and
 * If-Range. A 1000-byte image last modified at a known second.
 */

const LAST_MODIFIED = 'Tue, 07 May 2024 10:20:30 GMT';
const image: Representation = {
  etag: '"abc"',
  lastModified: new Date('2024-05-07T10:20:30.750Z'),
  size: 1000,
  contentType: 'image/webp',
  disposition: null,
};
const CACHING = 'public, max-age=31536000, immutable';

const request = (headers: Partial<Omit<ImageRequest, 'method'>> = {}, method = 'GET'): ImageRequest => ({
  method,
  ifNoneMatch: undefined,
  ifModifiedSince: undefined,
  ifRange: undefined,
  range: undefined,
  ...headers,
});

const get = (headers: Partial<Omit<ImageRequest, 'method'>> = {}, method = 'GET'): ImageAnswer =>
  answerImageRequest(request(headers, method), image, CACHING);

/** The part a 206 sends, as `start-end`; the status otherwise. */
function sent(answer: ImageAnswer): string {
  if (answer.status === 206) return `${answer.range.start}-${answer.range.end}`;
  return answer.status === 200 && answer.withBody ? 'all' : String(answer.status);
}

test('a GET gets every header a cache and a browser need, and the whole image', (t) => {
  const answer = get();
  t.is(sent(answer), 'all');
  t.deepEqual(answer.headers, {
    ETag: '"abc"',
    'Last-Modified': LAST_MODIFIED,
    'Cache-Control': CACHING,
    'Content-Type': 'image/webp',
    'Accept-Ranges': 'bytes',
    'X-Content-Type-Options': 'nosniff',
    'Content-Length': '1000',
  });
});

test("a HEAD gets exactly the GET's headers and no body, even when it sends a Range", (t) => {
  for (const range of [undefined, 'bytes=0-9']) {
    const head = get({ range }, 'HEAD');
    t.is(head.status, 200);
    t.false(head.status === 200 && head.withBody);
    t.deepEqual(head.headers, get().headers);
  }
});

test('a download adds its Content-Disposition', (t) => {
  const answer = answerImageRequest(request(), { ...image, disposition: 'attachment; filename="a.webp"' }, CACHING);
  t.is(answer.headers['Content-Disposition'], 'attachment; filename="a.webp"');
});

test('If-None-Match answers 304 for the ETag, weak or in a list; If-Modified-Since for a date at or after Last-Modified', (t) => {
  for (const ifNoneMatch of ['"abc"', 'W/"abc"', '"x", "abc"', '*']) t.is(get({ ifNoneMatch }).status, 304, ifNoneMatch);
  t.is(get({ ifNoneMatch: '"other"' }).status, 200);
  t.is(get({ ifModifiedSince: LAST_MODIFIED }).status, 304, 'the same second (HTTP dates drop the milliseconds)');
  t.is(get({ ifModifiedSince: 'Wed, 08 May 2024 00:00:00 GMT' }).status, 304);
  t.is(get({ ifModifiedSince: 'Tue, 07 May 2024 10:20:29 GMT' }).status, 200, 'a second before');
  t.is(get({ ifModifiedSince: 'not a date' }).status, 200);
  t.is(
    get({ ifNoneMatch: '"other"', ifModifiedSince: 'Wed, 08 May 2024 00:00:00 GMT' }).status,
    200,
    'the ETag wins over the date (RFC 9110 §13.1.3)',
  );
  t.deepEqual(get({ ifNoneMatch: '"abc"' }).headers, { ETag: '"abc"', 'Last-Modified': LAST_MODIFIED, 'Cache-Control': CACHING });
});

test('one range is a 206 with its bytes: first, open and suffix ranges, clipped to the image', (t) => {
  const cases: [string, string][] = [
    ['bytes=0-99', '0-99'],
    ['bytes=990-', '990-999'],
    ['bytes=-100', '900-999'],
    ['bytes=-5000', '0-999'],
    ['bytes=500-5000', '500-999'],
    ['bytes=0-0', '0-0'],
    ['bytes=0-9,5-19', '0-19'],
  ];
  for (const [range, part] of cases) t.is(sent(get({ range })), part, range);
  const answer = get({ range: 'bytes=100-199' });
  t.is(answer.headers['Content-Range'], 'bytes 100-199/1000');
  t.is(answer.headers['Content-Length'], '100');
  t.is(answer.headers.ETag, '"abc"');
});

test('a range past the end is a 416 naming the size; malformed ranges, other units and several ranges get the whole image', (t) => {
  for (const range of ['bytes=1000-', 'bytes=1000-2000', 'bytes=-0']) {
    const answer = get({ range });
    t.is(answer.status, 416, range);
    t.is(answer.headers['Content-Range'], 'bytes */1000');
  }
  for (const range of ['bytes=abc', 'pages=1-2', 'bytes 0-9', 'bytes=0-9,100-109']) t.is(sent(get({ range })), 'all', range);
});

test('If-Range: the range is honoured for the strong ETag or the exact Last-Modified, else the whole image is sent', (t) => {
  t.is(sent(get({ range: 'bytes=0-9', ifRange: '"abc"' })), '0-9');
  t.is(sent(get({ range: 'bytes=0-9', ifRange: LAST_MODIFIED })), '0-9');
  for (const ifRange of ['"old"', 'W/"abc"', 'Tue, 07 May 2024 10:20:31 GMT', 'Mon, 06 May 2024 10:20:30 GMT', 'garbage']) {
    t.is(sent(get({ range: 'bytes=0-9', ifRange })), 'all', ifRange);
  }
  t.is(get({ range: 'bytes=2000-', ifRange: '"old"' }).status, 200, 'a stale If-Range makes even an unsatisfiable range the whole image');
});

test("a signed URL's caching lasts no longer than its signature and is never immutable", (t) => {
  const now = Date.parse('2024-05-07T10:00:00Z');
  t.is(imageCacheControl(null, now), 'public, max-age=31536000, immutable');
  t.is(imageCacheControl(now / 1000 + 600, now), 'public, max-age=600');
  t.is(imageCacheControl(now / 1000 + 0.5, now), 'public, max-age=0');
  t.is(imageCacheControl(now / 1000 + 10 * 365 * 24 * 3600, now), 'public, max-age=31536000', 'at most a year, still not immutable');
});
