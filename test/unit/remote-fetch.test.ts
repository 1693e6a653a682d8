import { once } from 'node:events';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import test from 'ava';
import { DomainError } from '../../lib/errors.ts';
import { answerOf } from '../support/error-answer.ts';
import { judgeAddress } from '../../lib/remote/address-policy.ts';
import { fetchRemote, type RemoteFetchOptions } from '../../lib/remote/fetch-remote.ts';
import type { HostLookup } from '../../lib/remote/remote-target.ts';
import { readFixture } from '../support/fixtures.ts';

const photo = await readFixture('320x240.jpg');

const portOf = (server: net.Server): number => (server.address() as AddressInfo).port;

async function listen<T extends net.Server>(server: T): Promise<T> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return server;
}

/** Where every refused URL points: a fetch that got through would show up as a connection. */
let trapConnections = 0;
const trap = await listen(
  net.createServer((socket) => {
    trapConnections += 1;
    socket.destroy();
  }),
);
const trapPort = portOf(trap);

/** Reads requests and never answers; each connection's close is kept to prove the fetch hung up. */
const socketClosings: Promise<unknown>[] = [];
const silent = await listen(
  net.createServer((socket) => {
    socketClosings.push(once(socket, 'close'));
    socket.resume();
  }),
);

const requestedPaths: string[] = [];
const endlessClosings: Promise<unknown>[] = [];
const origin = await listen(
  http.createServer((request, response) => {
    const path = request.url ?? '/';
    requestedPaths.push(path);
    const loop = /^\/loop\/(\d+)$/.exec(path);
    if (path === '/photo.jpg') {
      response.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': photo.length }).end(photo);
    } else if (path === '/moved') {
      response.writeHead(301, { location: 'photo.jpg' }).end();
    } else if (path === '/to-trap') {
      response.writeHead(302, { location: `http://127.0.0.1:${trapPort}/` }).end();
    } else if (loop !== null) {
      response.writeHead(302, { location: `/loop/${Number(loop[1]) + 1}` }).end();
    } else if (path === '/endless') {
      // Chunked, no length, and never ended: only a cap while streaming stops it.
      endlessClosings.push(once(response, 'close'));
      response.writeHead(200, { 'content-type': 'image/jpeg' });
      response.write(photo.subarray(0, 1024));
      response.write(photo.subarray(1024, 2048));
      response.write(photo.subarray(2048, 3072));
    } else {
      response.writeHead(404).end();
    }
  }),
);

/** A public-looking name for the test origin, let through by allowedHosts and resolved by the injected lookup. */
const originHost = `images.example.test:${portOf(origin)}`;

const resolvesTo =
  (...addresses: string[]): HostLookup =>
  () =>
    Promise.resolve(addresses.map((address) => ({ address, family: net.isIP(address) })));

const limits: RemoteFetchOptions = {
  maxBytes: 1024 * 1024,
  timeoutMs: 5000,
  maxRedirects: 3,
  allowedHosts: [originHost],
  lookup: resolvesTo('127.0.0.1'),
};

function fetching(url: string, options: Partial<RemoteFetchOptions> = {}) {
  return async () => fetchRemote(url, { ...limits, ...options });
}

test.after.always(() => {
  origin.closeAllConnections();
  for (const server of [trap, silent, origin]) server.close();
});

const refusedAddresses: readonly (readonly [url: string, reason: RegExp, lookup?: HostLookup])[] = [
  ['http://127.0.0.1:TRAP/', /127\.0\.0\.1 is a loopback address/],
  ['http://[::1]:TRAP/', /::1 is a loopback address/],
  ['http://[::ffff:127.0.0.1]:TRAP/', /is an IPv6 form of 127\.0\.0\.1, a loopback address/],
  ['http://0.0.0.0:TRAP/', /0\.0\.0\.0 is an unspecified address/],
  ['http://169.254.169.254:TRAP/latest/meta-data/', /169\.254\.169\.254 is a cloud metadata address/],
  ['http://10.0.0.1:TRAP/', /10\.0\.0\.1 is a private address/],
  ['http://2130706433:TRAP/', /127\.0\.0\.1 is a loopback address/],
  ['http://0x7f.1:TRAP/', /127\.0\.0\.1 is a loopback address/],
  ['http://loopback.example.test:TRAP/', /loopback\.example\.test: 127\.0\.0\.1 is a loopback address/, resolvesTo('127.0.0.1')],
  ['http://mixed.example.test:TRAP/', /mixed\.example\.test: 127\.0\.0\.1 is a loopback address/, resolvesTo('93.184.216.34', '127.0.0.1')],
];

for (const [template, reason, lookup] of refusedAddresses) {
  test(`${template} is refused with 400 address_refused before any connection`, async (t) => {
    const url = template.replace('TRAP', String(trapPort));
    const error = await t.throwsAsync(fetching(url, lookup === undefined ? {} : { lookup }), { instanceOf: DomainError, message: reason });

    t.is(answerOf(error).status, 400);
    t.is(error.code, 'address_refused');
    t.is(trapConnections, 0);
  });
}

test('a redirect from an allowed host to a loopback address is refused before connecting to it', async (t) => {
  const error = await t.throwsAsync(fetching(`http://${originHost}/to-trap`), { instanceOf: DomainError });

  t.is(answerOf(error).status, 400);
  t.is(error.code, 'address_refused');
  t.is(error.message, `refusing to connect to 127.0.0.1: 127.0.0.1 is a loopback address`);
  t.is(trapConnections, 0);
});

test('an allowed host is fetched: the bytes, the final URL after a relative redirect, and the content type', async (t) => {
  const fetched = await fetchRemote(`http://${originHost}/moved`, limits);

  t.deepEqual(fetched, { bytes: photo, finalUrl: `http://${originHost}/photo.jpg`, contentType: 'image/jpeg' });
});

test('a Content-Length over maxBytes is refused with 413 payload_too_large', async (t) => {
  const error = await t.throwsAsync(fetching(`http://${originHost}/photo.jpg`, { maxBytes: 1000 }), { instanceOf: DomainError });

  t.is(answerOf(error).status, 413);
  t.is(error.code, 'payload_too_large');
  t.deepEqual(error.details, { maxBytes: 1000 });
});

test('a chunked body without a length is cut at maxBytes while streaming, though it never ends, and the connection is closed', async (t) => {
  t.timeout(3000);
  const error = await t.throwsAsync(fetching(`http://${originHost}/endless`, { maxBytes: 2048 }), { instanceOf: DomainError });

  t.is(answerOf(error).status, 413);
  t.is(error.code, 'payload_too_large');
  t.is(endlessClosings.length, 1);
  await Promise.all(endlessClosings);
});

test('more redirects than maxRedirects are refused with 400 too_many_redirects after following maxRedirects', async (t) => {
  const error = await t.throwsAsync(fetching(`http://${originHost}/loop/0`, { maxRedirects: 2 }), { instanceOf: DomainError });

  t.is(answerOf(error).status, 400);
  t.is(error.code, 'too_many_redirects');
  t.deepEqual(
    requestedPaths.filter((path) => path.startsWith('/loop/')),
    ['/loop/0', '/loop/1', '/loop/2'],
  );
});

for (const url of ['ftp://images.example.test/photo.jpg', 'file:///etc/passwd']) {
  test(`${url} is refused with 400 url_scheme_refused`, async (t) => {
    const error = await t.throwsAsync(fetching(url), { instanceOf: DomainError });

    t.is(answerOf(error).status, 400);
    t.is(error.code, 'url_scheme_refused');
  });
}

test('a URL with credentials is refused with 400 url_credentials_refused, even to an allowed host', async (t) => {
  const error = await t.throwsAsync(fetching(`http://user:secret@${originHost}/photo.jpg`), { instanceOf: DomainError });

  t.is(answerOf(error).status, 400);
  t.is(error.code, 'url_credentials_refused');
  t.false(error.message.includes('secret'));
});

test('text that is not a URL is refused with 400 url_invalid', async (t) => {
  const error = await t.throwsAsync(fetching('images.example.test/photo.jpg'), { instanceOf: DomainError });

  t.is(answerOf(error).status, 400);
  t.is(error.code, 'url_invalid');
});

test('a host that does not resolve is refused with 400 host_unresolvable', async (t) => {
  const lookup: HostLookup = () => Promise.reject(Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' }));
  const error = await t.throwsAsync(fetching('http://nowhere.example.test/', { lookup }), { instanceOf: DomainError });

  t.is(answerOf(error).status, 400);
  t.is(error.code, 'host_unresolvable');
  t.regex(error.message, /nowhere\.example\.test/);
});

test('a remote that answers 404 fails with 502 remote_error carrying its status', async (t) => {
  const error = await t.throwsAsync(fetching(`http://${originHost}/missing.jpg`), { instanceOf: DomainError });

  t.is(answerOf(error).status, 502);
  t.is(error.code, 'remote_error');
  t.deepEqual(error.details, { remoteStatus: 404 });
});

test('a remote that never answers fails with 504 remote_timeout at the deadline, and the socket is closed', async (t) => {
  t.timeout(3000);
  const host = `silent.example.test:${portOf(silent)}`;
  const error = await t.throwsAsync(fetching(`http://${host}/photo.jpg`, { timeoutMs: 200, allowedHosts: [host] }), {
    instanceOf: DomainError,
  });

  t.is(answerOf(error).status, 504);
  t.is(error.code, 'remote_timeout');
  t.is(socketClosings.length, 1);
  await Promise.all(socketClosings);
});

test('a DNS lookup that never answers fails with 504 remote_timeout at the deadline', async (t) => {
  t.timeout(3000);
  const lookup: HostLookup = () => new Promise(() => undefined);
  const error = await t.throwsAsync(fetching('http://slow-dns.example.test/', { timeoutMs: 200, lookup }), { instanceOf: DomainError });

  t.is(answerOf(error).status, 504);
  t.is(error.code, 'remote_timeout');
});

test.after('no refused fetch ever reached the trap', (t) => {
  t.is(trapConnections, 0);
});

const refusedByPolicy: readonly (readonly [address: string, reason: RegExp])[] = [
  ['64:ff9b::7f00:1', /IPv6 form of 127\.0\.0\.1, a loopback address/],
  ['64:ff9b::a00:1', /IPv6 form of 10\.0\.0\.1, a private address/],
  ['2002:7f00:1::', /IPv6 form of 127\.0\.0\.1, a loopback address/],
  ['::ffff:169.254.169.254', /IPv6 form of 169\.254\.169\.254, a cloud metadata address/],
  ['::7f00:1', /not a global unicast address/],
  ['2001::1', /Teredo/],
  ['fe80::1', /link-local/],
  ['fc00::1', /unique-local/],
  ['fd00:ec2::254', /cloud metadata/],
  ['ff02::1', /multicast/],
  ['2001:db8::1', /reserved, documentation/],
  ['::', /unspecified/],
  ['100.100.100.200', /cloud metadata/],
  ['100.64.0.1', /carrier-grade NAT/],
  ['172.16.0.1', /private/],
  ['192.168.1.1', /private/],
  ['224.0.0.1', /multicast/],
  ['255.255.255.255', /broadcast/],
  ['240.0.0.1', /reserved/],
  ['198.18.0.1', /benchmarking/],
  ['203.0.113.7', /documentation/],
  ['0177.0.0.1', /loopback/],
  ['0x7f000001', /loopback/],
  ['2130706433', /loopback/],
  ['localhost', /not an IP address/],
];

for (const [address, reason] of refusedByPolicy) {
  test(`the address policy refuses ${address}`, (t) => {
    const verdict = judgeAddress(address);

    t.false(verdict.allowed);
    t.regex(verdict.allowed ? '' : verdict.reason, reason);
  });
}

for (const address of ['93.184.216.34', '2606:4700::1111', '::ffff:93.184.216.34', '64:ff9b::5db8:d822', '2002:5db8:d822::']) {
  test(`the address policy allows the public address ${address}`, (t) => {
    t.deepEqual(judgeAddress(address), { allowed: true });
  });
}
