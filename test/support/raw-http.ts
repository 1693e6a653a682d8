import { connect } from 'node:net';
import type { Reply } from './api.ts';

/** One byte every `intervalMs`, as a client that never quite sends its request. */
export async function* slowly(bytes: Buffer, intervalMs: number): AsyncGenerator<Buffer> {
  for (const byte of bytes) {
    yield Buffer.from([byte]);
    await new Promise((resolve) => setTimeout(resolve, intervalMs)); // the slowness is the attack under test
  }
}

function parse(received: Buffer): Reply | null {
  const headEnd = received.indexOf('\r\n\r\n');
  if (headEnd === -1) return null;
  const [statusLine = '', ...lines] = received.subarray(0, headEnd).toString('latin1').split('\r\n');
  const headers = new Headers();
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
  }
  const length = Number(headers.get('content-length') ?? Number.NaN);
  const body = received.subarray(headEnd + 4);
  if (Number.isNaN(length) || body.length < length) return null;
  return { status: Number(statusLine.split(' ')[1]), headers, bytes: body.subarray(0, length) };
}

/**
 * Writes `chunks` to a fresh connection (the request, as raw bytes, at the
 * pace the iterable sets) and resolves to the response, as soon as it is
 * complete, even if the request is not; rejects if the connection ends
 * without one or nothing comes within `timeoutMs`.
 */
export function rawExchange(port: number, chunks: AsyncIterable<Buffer> | Iterable<Buffer>, timeoutMs: number): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let received = Buffer.alloc(0);
    let done = false;
    const finish = (outcome: Reply | Error) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      if (outcome instanceof Error) reject(outcome);
      else resolve(outcome);
    };
    const timer = setTimeout(() => {
      finish(new Error(`no complete response within ${timeoutMs} ms; received: ${received.toString('latin1').slice(0, 300)}`));
    }, timeoutMs);
    socket.on('data', (data: Buffer) => {
      received = Buffer.concat([received, data]);
      const reply = parse(received);
      if (reply !== null) finish(reply);
    });
    socket.on('close', () => {
      finish(
        parse(received) ?? new Error(`the connection closed without a complete response: ${received.toString('latin1').slice(0, 300)}`),
      );
    });
    socket.on('error', () => {
      // A server that answers and closes while the request is still being written: the response decides.
    });
    socket.once('connect', () => {
      void (async () => {
        for await (const chunk of chunks) {
          if (done || socket.destroyed) return;
          if (!socket.write(chunk)) {
            await new Promise((resolve) => {
              socket.once('drain', resolve);
              socket.once('close', resolve);
            });
          }
        }
      })();
    });
  });
}
