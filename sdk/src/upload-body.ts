import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { basename } from 'node:path';
import { Readable } from 'node:stream';
import type { RequestBodyInit } from './transport.ts';

/** What can be uploaded or transformed: bytes, a stream, a file path, or the URL of an image (an http(s) string or a URL). */
export type ImageInput = Uint8Array | Readable | ReadableStream<Uint8Array> | string | URL;

export interface BodyOptions {
  /** Kept as the image's metadata (a file path's own name by default). */
  readonly filename?: string;
  /** Defaults to application/octet-stream: the server sniffs the real type from the bytes. */
  readonly contentType?: string;
}

/** A request body made from an input, again for every attempt when the input allows it. */
export interface RequestBody {
  readonly headers: Readonly<Record<string, string>>;
  readonly body: () => RequestBodyInit;
  /** Whether it can be sent again (bytes, files, URLs): a stream is read once. */
  readonly replayable: boolean;
}

/** The URL an input names, or null when it carries the image itself. */
function remoteUrl(input: ImageInput): string | null {
  if (input instanceof URL) return input.href;
  return typeof input === 'string' && /^https?:\/\//i.test(input) ? input : null;
}

const webStream = (chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): RequestBodyInit =>
  Readable.toWeb(Readable.from(chunks)) as ReadableStream<Uint8Array>;

/** A multipart/form-data body with the file in field "file", streamed between its head and tail. */
function multipart(filename: string, contentType: string, content: () => AsyncIterable<Uint8Array>, replayable: boolean): RequestBody {
  const boundary = `progimage-${randomUUID()}`;
  const quoted = filename.replace(/"/g, '%22').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${quoted}"\r\nContent-Type: ${contentType}\r\n\r\n`,
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  async function* parts() {
    yield head;
    yield* content();
    yield tail;
  }
  return { headers: { 'Content-Type': `multipart/form-data; boundary=${boundary}` }, body: () => webStream(parts()), replayable };
}

async function* chunksOf(stream: Readable | ReadableStream<Uint8Array>): AsyncIterable<Uint8Array> {
  yield* stream instanceof Readable ? stream : Readable.fromWeb(stream);
}

/**
 * The body that carries an input's image: raw bytes, or multipart when there
 * is a file name to keep. Files and streams are streamed, never read whole.
 */
function imageBody(input: Exclude<ImageInput, URL>, options: BodyOptions = {}): RequestBody {
  const contentType = options.contentType ?? 'application/octet-stream';
  if (typeof input === 'string') {
    return multipart(options.filename ?? basename(input), contentType, () => createReadStream(input), true);
  }
  const replayable = input instanceof Uint8Array;
  const content = () => (input instanceof Uint8Array ? [input] : chunksOf(input));
  if (options.filename !== undefined) {
    return multipart(
      options.filename,
      contentType,
      async function* () {
        yield* content();
      },
      replayable,
    );
  }
  return { headers: { 'Content-Type': contentType }, body: () => (input instanceof Uint8Array ? input : webStream(content())), replayable };
}

/** A JSON body, sent again as it is. */
export function jsonBody(value: unknown): RequestBody {
  const text = JSON.stringify(value);
  return { headers: { 'Content-Type': 'application/json' }, body: () => text, replayable: true };
}

/** The body of a request about one image: the image itself, or for a URL the JSON `remote(url)` makes. */
export function inputBody(
  input: ImageInput,
  options: BodyOptions,
  remote: (url: string) => unknown,
): RequestBody & { readonly remote: boolean } {
  const url = remoteUrl(input);
  return url === null
    ? { ...imageBody(input as Exclude<ImageInput, URL>, options), remote: false }
    : { ...jsonBody(remote(url)), remote: true };
}
