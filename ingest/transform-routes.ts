import type { TransformSlots } from '../lib/transform/transform-slots.ts';
import Router from '@koa/router';
import type { Context } from 'koa';
import { InfectedImageError, InvalidOptionError } from '../lib/errors.ts';
import { HttpError } from '../lib/http/errors.ts';
import { CONTENT_TYPES, masterFormat } from '../lib/imaging/formats.ts';
import type { ImageFormat } from '../lib/events/payloads.ts';
import type { Scanner } from '../lib/ports/scanner.ts';
import { assertNotInfected } from '../lib/scanning.ts';
import { canonicalise } from '../lib/transform/canonical.ts';
import { estimateTransform } from '../lib/transform/cost.ts';
import { tenantOf } from '../lib/http/admission.ts';
import { parseOptions } from '../lib/transform/options.ts';
import { runTransform } from '../lib/transform/run-transform.ts';
import { noOtherImages } from '../lib/transform/steps/step.ts';
import { identifyImage } from '../lib/imaging/identify-image.ts';
import { readJsonBody } from '../lib/http/json-body.ts';
import { readUploadedFiles, uploadBody, type UploadedFile } from './read-upload.ts';
import { fetchImages, type RemoteImageLimits } from '../lib/remote/fetch-images.ts';
import { remoteTransformSchema } from './contract.ts';

export interface TransformRoutesDependencies extends RemoteImageLimits {
  readonly acceptedFormats: readonly ImageFormat[];
  readonly scanner: Scanner;
  readonly timeoutMs: () => number;
  readonly slots: TransformSlots;
}

/** Images sent in a request are not stored, so there is nothing to take a mask or overlay from. */
const NO_STORED_IMAGES = noOtherImages('masks and overlays of stored images apply to stored images only: GET /v1/images/ID.EXT?...');

/** The one image of the request and the options its JSON carries (query options come on top). */
async function requestImage(
  ctx: Context,
  dependencies: TransformRoutesDependencies,
): Promise<{ file: UploadedFile | undefined; options: Record<string, unknown> }> {
  if (typeof ctx.is('json') === 'string') {
    const { url, ...options } = await readJsonBody(ctx, remoteTransformSchema);
    const [file] = await fetchImages([url], dependencies);
    return { file, options };
  }
  const files: UploadedFile[] = await readUploadedFiles(ctx, dependencies.maxBytes());
  if (files.length !== 1) throw new HttpError(400, 'one_image', `a transform takes exactly one image, got ${files.length}`);
  return { file: files[0], options: {} };
}

function mergeOptions(query: Readonly<Record<string, unknown>>, body: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const repeated = Object.keys(body).find((name) => name in query);
  if (repeated !== undefined) throw new InvalidOptionError(`${repeated}: given in both the query and the body`, { option: repeated });
  return { ...query, ...body };
}

/** Virus-scans request data before anything decodes it, as uploads are; a scanner that cannot answer is a 503. */
async function assertClean(scanner: Scanner, bytes: Buffer): Promise<void> {
  await assertNotInfected(scanner, bytes).catch((error: unknown) => {
    if (error instanceof InfectedImageError) throw error;
    const reason = error instanceof Error ? error.message : String(error);
    throw new HttpError(503, 'scan_unavailable', `the image could not be scanned: ${reason}`, {}, { 'Retry-After': '5' });
  });
}

/**
 * POST /v1/transform: the image as a raw body or multipart field "file"
 * (options in the query), or JSON {url, ...options}; answers with the
 * transformed image, which is not stored.
 */
export function transformRoutes(dependencies: TransformRoutesDependencies): Router {
  const router = new Router();
  router.post('/v1/transform', ...uploadBody(dependencies.maxBytes), async (ctx) => {
    const { file, options: bodyOptions } = await requestImage(ctx, dependencies);
    // The deadline counts from the request's arrival in full: the scan and the wait for a turn are in it.
    const deadline = Date.now() + dependencies.timeoutMs();
    if (file === undefined) throw new Error('a request image was read');
    const image = await identifyImage(file.bytes, dependencies.acceptedFormats, file.claims);
    const options = parseOptions(mergeOptions(ctx.query, bodyOptions));
    const transform = canonicalise(options, options.format ?? masterFormat(image.format));
    await assertClean(dependencies.scanner, file.bytes);
    const estimate = estimateTransform(image, transform);
    const result = await dependencies.slots.run({ tenant: tenantOf(ctx), estimate, deadline }, () =>
      runTransform(
        {
          bytes: file.bytes,
          format: image.format,
          upright: false,
          ...(image.uprightSize === undefined ? {} : { size: image.uprightSize }),
        },
        transform,
        { resources: NO_STORED_IMAGES, deadline },
      ),
    );
    ctx.type = CONTENT_TYPES[result.format];
    ctx.set('Cache-Control', 'no-store');
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.body = result.data;
  });
  return router;
}
