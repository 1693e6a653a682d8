import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFixture } from './fixtures.ts';

/** A local web server that upstream images are fetched from: /images/NAME serves a fixture; it counts connections. */
export interface FixtureServer {
  /** host:port, for PROGIMAGE_FETCH_ALLOW_HOSTS. */
  readonly host: string;
  url(name: string): string;
  readonly connections: () => number;
  close(): Promise<void>;
}

export async function startFixtureServer(): Promise<FixtureServer> {
  let connections = 0;
  const server: Server = createServer((req, res) => {
    const name = decodeURIComponent(req.url?.replace(/^\/images\//, '') ?? '');
    readFixture(name).then(
      (bytes) => {
        res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': bytes.length });
        res.end(bytes);
      },
      () => {
        res.writeHead(404).end();
      },
    );
  });
  server.on('connection', () => {
    connections += 1;
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    host,
    url: (name) => `http://${host}/images/${encodeURIComponent(name)}`,
    connections: () => connections,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
}
