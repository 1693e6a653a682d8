import Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import type { ImageId } from '../lib/ids.ts';
import { tenantRecordOf } from '../lib/auth/admission.ts';
import { assertWithinQuota, type UsageCollection } from '../lib/auth/stored-bytes.ts';
import type { UploadedImage } from '../sdk/src/types.ts';
import { idempotencyKey } from '../lib/http/idempotency-key.ts';
import { acceptUpload, identifyAll, type AcceptUploadDependencies, type Upload } from './accept-upload.ts';
import { imageIdFor } from './image-ids.ts';
import { expiresAtOf } from './time-to-live.ts';
import { readJsonBody } from '../lib/http/json-body.ts';
import { readUploadedFiles, uploadBody, type UploadedFile } from './read-upload.ts';
import { fetchImages, type RemoteImageLimits } from '../lib/remote/fetch-images.ts';

/** Where a client finds an image once it is accepted. */
export const imageLinks = (id: ImageId) => ({
  self: `/v1/images/${id}`,
  /** Any supported extension works; WebP is a good default for browsers. */
  webp: `/v1/images/${id}.webp`,
});


const MAX_URLS_PER_REQUEST = 100;

/** The JSON form of an upload: images to fetch from URLs. */
const urlUploadSchema = z.union([
  z.object({ url: z.string() }).strict(),
  z.object({ urls: z.array(z.string()).min(1).max(MAX_URLS_PER_REQUEST) }).strict(),
], { error: `expected {"url": "…"} or {"urls": ["…", …]} with 1-${MAX_URLS_PER_REQUEST} URLs` });

/** The files of an upload request: its body's, or those fetched from the URLs its JSON names. */
async function uploadedFiles(ctx: Context, dependencies: UploadRoutesDependencies): Promise<UploadedFile[]> {
  if (typeof ctx.is('json') !== 'string') return readUploadedFiles(ctx, dependencies.maxBytes());
  const body = await readJsonBody(ctx, urlUploadSchema);
  return fetchImages('url' in body ? [body.url] : body.urls, dependencies);
}

export type UploadRoutesDependencies = AcceptUploadDependencies &
  RemoteImageLimits & {
    /** Each tenant's stored bytes, checked against its quota before anything is stored. */
    readonly usage: UsageCollection;
    /** How long an upload that names no ttl lives when its tenant sets no default (null: until deleted). */
    readonly defaultTtlSeconds: number | null;
  };

/**
 * POST /v1/images: one image as a raw body, one or many as multipart field
 * "file", or JSON naming URLs to fetch ({url} or {urls}). 202 once every
 * image is stored and its event published; a bad one stores nothing.
 */
export function uploadRoutes(dependencies: UploadRoutesDependencies): Router {
  const router = new Router();
  router.post(
    '/v1/images',
    ...uploadBody(dependencies.maxBytes),
    async (ctx) => {
      const key = idempotencyKey(ctx);
      const tenant = tenantRecordOf(ctx);
      const expiresAt = expiresAtOf(ctx, tenant.defaultTtlSeconds ?? dependencies.defaultTtlSeconds);
      const files = await uploadedFiles(ctx, dependencies);
      await assertWithinQuota(dependencies.usage, tenant, files.reduce((sum, file) => sum + file.bytes.length, 0));
      const uploads: Upload[] = files.map((file, index) => ({
        imageId: imageIdFor(tenant.id, key, index),
        tenant: tenant.id,
        ...file,
        ...(expiresAt === undefined ? {} : { expiresAt }),
      }));
      const images = await identifyAll(uploads, dependencies.acceptedFormats);
      const accepted: UploadedImage[] = [];
      for (const [index, upload] of uploads.entries()) {
        const image = images[index];
        if (image === undefined) throw new Error('every upload was identified');
        const event = await acceptUpload(dependencies, upload, image);
        accepted.push({ id: event.imageId, status: 'uploaded', links: imageLinks(event.imageId) });
      }
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
