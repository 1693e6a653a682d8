import { connect } from 'node:net';

/** Where a clamd listens. */
export interface ClamdAddress {
  readonly host: string;
  readonly port: number;
}

/** clamd's StreamMaxLength is counted over the whole stream; a chunk of any size up to it is one read on clamd's side. */
const CHUNK_BYTES = 64 * 1024;
/** A clamd that does not answer fails the run rather than hang it. */
const TIMEOUT_MS = 30_000;

/**
 * One INSTREAM of `bytes` to clamd over a connection of its own, spoken
 * directly (no client library, nothing of ProgImage's): the scan a bare
 * server would pay for before decoding request data. Resolves when clamd
 * answers "stream: OK"; rejects on any other answer, or on none in time.
 */
export function instream(clamd: ClamdAddress, bytes: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect(clamd.port, clamd.host);
    socket.setTimeout(TIMEOUT_MS, () => {
      socket.destroy(new Error(`clamd at ${clamd.host}:${clamd.port} did not answer INSTREAM within ${TIMEOUT_MS} ms`));
    });
    const answer: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => answer.push(chunk));
    socket.on('error', reject);
    socket.on('end', () => {
      const text = Buffer.concat(answer).toString('utf8').replace(/\0$/, '').trim();
      if (text === 'stream: OK') resolve();
      else reject(new Error(`clamd at ${clamd.host}:${clamd.port} answered INSTREAM with ${JSON.stringify(text)}`));
    });
    socket.write('zINSTREAM\0');
    for (let offset = 0; offset < bytes.length; offset += CHUNK_BYTES) {
      const chunk = bytes.subarray(offset, offset + CHUNK_BYTES);
      const length = Buffer.alloc(4);
      length.writeUInt32BE(chunk.length);
      socket.write(length);
      socket.write(chunk);
    }
    socket.end(Buffer.alloc(4));
  });
}
