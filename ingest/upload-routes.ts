import Router from '@koa/router';
import type { Context } from 'koa';
import { imageLinks } from '../lib/image-links.ts';
import { tenantRecordOf } from '../lib/http/admission.ts';
import type { UploadedImage } from '@progimage/transform-language';
import { idempotencyKey } from '../lib/http/idempotency-key.ts';
import { acceptUploads, type AcceptUploadsDependencies } from './accept-upload.ts';
import { imageIdFor } from './image-ids.ts';
import { defaultTtlOf, expiresAtOf } from './time-to-live.ts';
import { readJsonBody } from '../lib/http/json-body.ts';
import { readUploadedFiles, uploadBody, type UploadedFile } from './read-upload.ts';
import { fetchImages, type RemoteImageLimits } from '../lib/remote/fetch-images.ts';
import { urlUploadSchema } from './contract.ts';
import { admitToPipeline, longExpectedWait, type PipelineAdmission } from './pipeline-admission.ts';

/** The files of an upload request: its body's, or those fetched from the URLs its JSON names. */
async function uploadedFiles(ctx: Context, dependencies: UploadRoutesDependencies): Promise<UploadedFile[]> {
  if (typeof ctx.is('json') !== 'string') return readUploadedFiles(ctx, dependencies.maxBytes());
  const body = await readJsonBody(ctx, urlUploadSchema);
  return fetchImages('url' in body ? [body.url] : body.urls, dependencies);
}

export type UploadRoutesDependencies = AcceptUploadsDependencies &
  RemoteImageLimits & {
    /** How long an upload that names no ttl lives when its tenant sets no default (null: until deleted). */
    readonly defaultTtlSeconds: number | null;
    /** The tenant's limit of images in flight, and the pipeline's expected wait. */
    readonly pipeline: PipelineAdmission;
  };

/**
 * POST /v1/images: one image as a raw body, one or many as multipart field
 * "file", or JSON naming URLs to fetch ({url} or {urls}). 202 once every
 * image is stored and its event published; a bad one stores nothing. A
 * tenant at its limit of images in flight is refused before its body is
 * read; a request of several images, once they are counted. The answer
 * says the expected wait when it is long.
 */
export function uploadRoutes(dependencies: UploadRoutesDependencies): Router {
  const router = new Router();
  router.post(
    '/v1/images',
    async (ctx, next) => {
      await admitToPipeline(dependencies.pipeline, tenantRecordOf(ctx), 1);
      await next();
    },
    ...uploadBody(dependencies.maxBytes),
    async (ctx) => {
      const key = idempotencyKey(ctx);
      const tenant = tenantRecordOf(ctx);
      const expiresAt = expiresAtOf(ctx, defaultTtlOf(tenant, dependencies.defaultTtlSeconds));
      const files = await uploadedFiles(ctx, dependencies);
      if (files.length > 1) await admitToPipeline(dependencies.pipeline, tenant, files.length);
      const expectedWaitSeconds = longExpectedWait(dependencies.pipeline.sampler);
      const events = await acceptUploads(dependencies, tenant, files, {
        imageIdOf: (index) => imageIdFor(tenant.id, key, index),
        expiresAt,
      });
      const accepted: UploadedImage[] = events.map((event) => ({
        id: event.imageId,
        status: 'uploaded',
        links: imageLinks(event.imageId, event.payload),
        ...(expectedWaitSeconds === undefined ? {} : { expectedWaitSeconds }),
      }));
      ctx.status = 202;
      const [only] = accepted;
      if (accepted.length === 1 && only !== undefined) {
        ctx.set('Location', only.links.self);
        ctx.body = only;
      } else {
        ctx.body = { images: accepted };
      }
    },
  );
  return router;
}
