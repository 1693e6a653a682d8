import { Batches } from './batches.ts';
import { Images } from './images.ts';
import type { TransformInput } from '@progimage/transform-language';
import { canonicalNames, transformQuery } from './transform-query.ts';
import { Transport, type ClientOptions, type RequestOptions } from './transport.ts';
import { inputBody, type BodyOptions, type ImageInput } from './upload-body.ts';
import { Webhooks } from './webhooks.ts';

export interface TransformedImage {
  readonly contentType: string;
  readonly data: Buffer;
}

/**
 * The ProgImage client: `new ProgImage({ baseUrl, apiKey })`, then
 * `pi.images`, `pi.batches`, `pi.webhooks` and `pi.transform`.
 */
export class ProgImage {
  readonly images: Images;
  readonly batches: Batches;
  readonly webhooks: Webhooks;
  private readonly transport: Transport;

  constructor(options: ClientOptions) {
    this.transport = new Transport(options);
    this.images = new Images(this.transport, options.signing);
    this.batches = new Batches(this.transport);
    this.webhooks = new Webhooks(this.transport);
  }

  /**
   * Transforms an image that is not stored (bytes, a stream, a file, or a
   * URL the server fetches) and answers with the result; nothing is kept.
   */
  transform(input: ImageInput, transform: TransformInput, options: BodyOptions & RequestOptions = {}): Promise<TransformedImage> {
    const body = inputBody(input, options, (url) => ({ url, ...canonicalNames(transform) }));
    // Nothing is stored, so a repeat is harmless whenever the body can be sent again.
    return this.transport.request(
      {
        method: 'POST',
        path: '/v1/transform',
        query: body.remote ? new URLSearchParams() : transformQuery(transform),
        headers: body.headers,
        body: body.body,
        retriable: body.replayable,
      },
      options,
      async (response) => ({
        contentType: response.headers.get('content-type') ?? 'application/octet-stream',
        data: Buffer.from(await response.arrayBuffer()),
      }),
    );
  }
}
