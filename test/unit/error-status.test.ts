import test from 'ava';
import sharp from 'sharp';
import * as errors from '../../lib/errors.ts';
import {
  DeadlineExceededError,
  DependencyUnavailableError,
  DomainError,
  ForbiddenError,
  InvalidOptionError,
  OverloadedError,
  RateLimitedError,
  RefusedAddressError,
  RemoteFailedError,
  RemoteTimeoutError,
  TooCostlyError,
  UnauthenticatedError,
  UnprocessableImageError,
  UnsupportedMediaError,
} from '../../lib/errors.ts';
import { ERROR_STATUSES, errorAnswerOf, statusOf } from '../../lib/http/error-status.ts';
import { HttpError } from '../../lib/http/errors.ts';
import { canonicalise } from '../../lib/transform/canonical.ts';
import { TransformOptionError } from '../../lib/transform/errors.ts';
import { parseOptions } from '../../lib/transform/options.ts';
import { runTransform } from '../../lib/transform/run-transform.ts';
import type { TransformResources } from '../../lib/transform/steps/step.ts';
import { answerOf } from '../support/error-answer.ts';

const OTHER_IMAGE = '0b7e5c1d-2f3a-4b6c-8d9e-aabbccddee01';

test('every domain error class has a status in the one table', (t) => {
  const classes = Object.entries(errors).filter(
    (entry): entry is [string, typeof DomainError] => typeof entry[1] === 'function' && entry[1].prototype instanceof DomainError,
  );
  t.true(classes.length >= 20, classes.map(([name]) => name).join(', '));
  for (const [name, type] of classes) t.true(ERROR_STATUSES.has(type), `${name} has no status`);
});

test('each error is answered with the status, code, details and headers it was answered with as an HttpError', (t) => {
  const cases: [DomainError, number, string, Record<string, string>][] = [
    [new TransformOptionError('blur', 'expected a blur sigma from 0.3 to 100', '500'), 400, 'invalid_transform', {}],
    [new InvalidOptionError('presets cannot use other stored images as masks or overlays'), 400, 'invalid_transform', {}],
    [
      new RefusedAddressError('refusing to connect to x: 10.0.0.1 is private', { host: 'x', address: '10.0.0.1' }),
      400,
      'address_refused',
      {},
    ],
    [
      new UnauthenticatedError('unauthenticated', 'send an API key', 'progimage'),
      401,
      'unauthenticated',
      { 'WWW-Authenticate': 'Bearer realm="progimage"' },
    ],
    [new ForbiddenError('presets_only', 'only presets may be asked for'), 403, 'presets_only', {}],
    [new UnsupportedMediaError('trailing_data', 'the file goes on'), 415, 'trailing_data', {}],
    [new UnprocessableImageError('truncated_image', 'the file ends before its image does'), 422, 'truncated_image', {}],
    [new TooCostlyError('too much CPU', { estimatedCostMs: 2, maxCostMs: 1 }), 422, 'too_costly', {}],
    [new RateLimitedError('more than 5 requests a second', { requestsPerSecond: 5 }, 2), 429, 'rate_limited', { 'Retry-After': '2' }],
    [new RemoteFailedError('remote_error', 'answered 404', { remoteStatus: 404 }), 502, 'remote_error', {}],
    [new DependencyUnavailableError('minio did not answer'), 503, 'dependency_unavailable', { 'Retry-After': '5' }],
    [new DeadlineExceededError('the transformation did not finish within its deadline'), 503, 'transform_timeout', { 'Retry-After': '5' }],
    [new OverloadedError('2 running, 3 waiting', { running: 2, waiting: 3 }, 10), 503, 'overloaded', { 'Retry-After': '10' }],
    [new RemoteTimeoutError('not fetched within 200 ms', { timeoutMs: 200 }), 504, 'remote_timeout', {}],
  ];
  for (const [error, status, code, headers] of cases) {
    t.deepEqual(
      errorAnswerOf(error),
      {
        status,
        code,
        message:
          error.message === 'minio did not answer' ? 'a server ProgImage depends on did not answer: try again shortly' : error.message,
        details: error.details,
        headers,
      },
      error.name,
    );
    t.is(statusOf(error), status);
  }
});

test('an HttpError keeps its own status and headers; an error of no domain class has no status', (t) => {
  const http = new HttpError(405, 'method_not_allowed', 'no', { allowed: ['GET'] }, { Allow: 'GET' });
  t.like(http, { status: 405, code: 'method_not_allowed', headers: { Allow: 'GET' }, retriable: false });
  class Unlisted extends DomainError {}
  t.is(errorAnswerOf(new Unlisted('x', 'y')), null);
});

test('a retriable error says so; a refusal does not', (t) => {
  t.true(new DependencyUnavailableError('down').retriable);
  t.true(new DeadlineExceededError('late').retriable);
  t.true(new OverloadedError('busy', {}, 1).retriable);
  t.false(new UnprocessableImageError('unreadable_image', 'corrupt').retriable);
  t.false(new TransformOptionError('w', 'expected a number', 'x').retriable);
});

test('an error put in context keeps its class, code and hints, with the prefix and the details added', (t) => {
  const error = new RateLimitedError('too fast', { requestsPerSecond: 1 }, 3).within('url 2', { url: 'http://x/' });
  t.true(error instanceof RateLimitedError);
  t.like(error, {
    code: 'rate_limited',
    message: 'url 2: too fast',
    details: { requestsPerSecond: 1, url: 'http://x/' },
    retryAfterSeconds: 3,
  });
  t.like(answerOf(error), { status: 429, headers: { 'Retry-After': '3' } });
});

// ------------------------------------------------- failures of a transformation

const photo = () =>
  sharp({ create: { width: 40, height: 30, channels: 3, background: '#3366cc' } })
    .jpeg()
    .toBuffer();
const downOnce = (): TransformResources & { calls: number } => {
  const resources = {
    calls: 0,
    loadImage() {
      resources.calls += 1;
      return Promise.reject(new DependencyUnavailableError('the blob store did not answer: connect ECONNREFUSED'));
    },
  };
  return resources;
};

for (const option of ['overlay', 'mask'] as const) {
  test(`a blob store down while the ${option} image loads is a retriable 503 dependency_unavailable, not a 422`, async (t) => {
    const resources = downOnce();
    const transform = canonicalise(parseOptions({ [option]: OTHER_IMAGE, w: '20' }), 'png');
    const error = await t.throwsAsync(
      runTransform({ bytes: await photo(), format: 'jpeg', upright: true }, transform, { resources, deadline: Date.now() + 30_000 }),
      {
        instanceOf: DependencyUnavailableError,
      },
    );
    t.is(resources.calls, 1);
    t.true(error.retriable);
    t.deepEqual(answerOf(error), {
      status: 503,
      code: 'dependency_unavailable',
      message: 'a server ProgImage depends on did not answer: try again shortly',
      details: {},
      headers: { 'Retry-After': '5' },
    });
  });
}

test('a transformation past its deadline is a retriable DeadlineExceededError; an undecodable image a permanent 422', async (t) => {
  const resources = downOnce();
  const late = await t.throwsAsync(
    runTransform({ bytes: await photo(), format: 'jpeg', upright: true }, canonicalise(parseOptions({ w: '20' }), 'png'), {
      resources,
      deadline: Date.now() - 1,
    }),
    {
      instanceOf: DeadlineExceededError,
    },
  );
  t.true(late.retriable);
  t.like(answerOf(late), { status: 503, code: 'transform_timeout', headers: { 'Retry-After': '5' } });
  const broken = Buffer.from('not an image at all: a JPEG has no such header');
  const undecodable = await t.throwsAsync(
    runTransform(
      { bytes: broken, format: 'jpeg', upright: true, size: { width: 40, height: 30 } },
      canonicalise(parseOptions({ w: '20' }), 'png'),
      { resources, deadline: Date.now() + 30_000 },
    ),
    {
      instanceOf: UnprocessableImageError,
    },
  );
  t.false(undecodable.retriable);
  t.like(answerOf(undecodable), { status: 422, code: 'unprocessable_image' });
  t.regex(undecodable.message, /^the image could not be transformed: /);
});
