import Router from '@koa/router';
import type { Context } from 'koa';
import { DomainError, InvalidOptionError } from '../lib/errors.ts';
import { HttpError } from '../lib/http/errors.ts';
import { withoutDownload } from '../lib/http/download.ts';
import { responseKey, type Negotiation, type ResponseCache } from '../lib/http/response-cache.ts';
import { sendBlob } from '../lib/http/send-blob.ts';
import { matchedRoute } from '../lib/http/metrics.ts';
import type { Tenant } from '../lib/ids.ts';
import { tenantOf } from '../lib/http/admission.ts';
import type { StoredBytes } from '../lib/auth/stored-bytes.ts';
import { formatForExtension, SUPPORTED_EXTENSIONS } from '../lib/imaging/formats.ts';
import { BlobNotFoundError, type BlobStore } from '../lib/ports/blob-store.ts';
import { listQuery } from './image-contract.ts';
import { imageView } from './image-view.ts';
import type { ImagesCollection } from './images-collection.ts';
import type { OutcomeAnnouncer } from './announce-outcome.ts';
import { deleteImage } from './delete-image.ts';
import { assertServable, findImage, type Servable } from './image-access.ts';
import type { HitCounter } from './hit-counter.ts';
import type { ReadyRecords } from './ready-records.ts';
import type { Renditions } from './renditions.ts';
import type { ServableBlob, StoredOnce } from './stored-once.ts';
import type { Transformations } from './transformations.ts';
import { AUTO_EXTENSION, chooseByHeaders, negotiationOf, ownFormat, type AskedFor } from './header-choice.ts';
import { canonicalise, isPlainConversion } from '../lib/transform/canonical.ts';
import { parseOptions } from '../lib/transform/options.ts';
import { expandPreset } from '../lib/transform/presets.ts';
import { segmentOf, segmentRoute } from '../lib/http/segment-route.ts';
import type { TransformSettings } from '../lib/config/index.ts';
import type { TransformResources } from '../lib/transform/steps/step.ts';

export interface ImageRoutesDependencies {
  readonly images: ImagesCollection;
  /** Each tenant's stored bytes, given back when an image is deleted. */
  readonly storedBytes: StoredBytes;
  readonly blobs: BlobStore;
  readonly renditions: Renditions;
  readonly transformations: Transformations;
  /** The presets in force, and whether stored derived images may only be presets (caps how many each image can have). */
  readonly transforms: () => TransformSettings;
  /** Where responses with their bytes in memory are kept, to be answered again before the framework. */
  readonly responses: ResponseCache;
  /** The records of ready images read lately, for the routes that serve pixels. */
  readonly records: ReadyRecords;
  /** Renditions and transformations being made or stored: a DELETE has those being made answered 404, and waits for the puts. */
  readonly stored: Pick<StoredOnce, 'forgetImage'>;
  readonly hits: HitCounter;
  /** Publishes image.deleted when an image is deleted. */
  readonly announce: OutcomeAnnouncer;
}

function requestedFormat(extension: string): AskedFor['format'] {
  if (extension === AUTO_EXTENSION) return AUTO_EXTENSION;
  const format = formatForExtension(extension);
  if (format === null) {
    throw new HttpError(400, 'unsupported_extension', `".${extension}" is not a supported format`, {
      supported: [...SUPPORTED_EXTENSIONS, AUTO_EXTENSION],
    });
  }
  return format;
}

/** The read API of stored images. */
export function imageRoutes({
  images,
  storedBytes,
  blobs,
  renditions,
  transformations,
  transforms,
  responses,
  records,
  stored,
  hits,
  announce,
}: ImageRoutesDependencies): Router {
  const lookup = { images, blobs };
  /** Mask and overlay sources: another servable image of the same tenant, by id. */
  const resourcesFor = (tenant: Tenant): TransformResources => ({
    async loadImage(id) {
      try {
        return await records.serve(tenant, id, (source) => {
          assertServable(source);
          return blobs.get(source.compression.master.key);
        });
      } catch (error) {
        // A server that is down stays itself (retriable, 503): only a refusal of the image makes the option invalid.
        if (!(error instanceof DomainError) || error.retriable) throw error;
        throw new InvalidOptionError(`image ${id} cannot be used as a mask or overlay: ${error.message}`, { image: id });
      }
    },
  });
  /**
   * Sends an image's rendition, named `name` when downloaded, with what it
   * varies by when the request's headers chose it; one whose bytes are in
   * memory is kept for the next identical request (with equal headers).
   */
  const sendRendition = async (
    ctx: Context,
    image: Servable,
    blob: ServableBlob,
    rendition: string,
    name: string,
    negotiation: Negotiation | null = null,
  ): Promise<void> => {
    for (const [header, value] of Object.entries(negotiation?.headers ?? {})) {
      if (header === 'Vary') ctx.vary(value);
      else ctx.set(header, value);
    }
    const representation = await sendBlob(ctx, blobs, blob.info, { data: blob.data, name });
    const hit = (): void => {
      hits.record(image, rendition);
    };
    hit();
    if (blob.data === undefined) return;
    responses.remember(responseKey(image.tenant, ctx.url), {
      body: blob.data,
      representation,
      route: matchedRoute(ctx),
      tags: [image.id],
      served: hit,
      negotiation: negotiation ?? undefined,
    });
  };
  const router = new Router({ prefix: '/v1/images' });

  router.get('/', async (ctx) => {
    const parsed = listQuery.safeParse(ctx.query);
    if (!parsed.success) {
      throw new HttpError(400, 'invalid_query', parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; '));
    }
    const { status, cursor, limit } = parsed.data;
    const where = { tenant: tenantOf(ctx), ...(status === undefined ? {} : { status }) };
    const page = await images.find({ where, limit: limit + 1, ...(cursor === undefined ? {} : { after: cursor }) });
    const shown = page.slice(0, limit).filter((image) => image.status !== 'deleted' || status === 'deleted');
    ctx.body = { images: shown.map(imageView), next: page.length > limit ? (page[limit - 1]?.id ?? null) : null };
  });

  // One segment: either an id (metadata as JSON) or id.ext (the image in that format; id.auto: in the best its Accept header takes).
  router.get('/:name', async (ctx) => {
    const name = ctx.params.name ?? '';
    const dot = name.indexOf('.');
    if (dot === -1) {
      const image = await findImage(lookup, tenantOf(ctx), name);
      ctx.set('Cache-Control', 'no-cache');
      ctx.body = imageView(image);
      return;
    }
    const made = await records.serve(tenantOf(ctx), name.slice(0, dot), async (image) => {
      const format = requestedFormat(name.slice(dot + 1));
      // Options are checked before the image's state: a bad request is a 400 whatever the image (for `auto`, but the format's own problems).
      const { presets, presetsOnly } = transforms();
      const requested = expandPreset(withoutDownload(ctx.query), presets, presetsOnly);
      const options = Object.keys(requested).length === 0 ? null : parseOptions(requested);
      if (options !== null && format !== AUTO_EXTENSION) canonicalise(options, format);
      assertServable(image);
      const asked = { format, options: options ?? {} };
      const chosen = chooseByHeaders(image, asked, ctx.headers);
      const output = chosen.format ?? (await ownFormat(image, blobs));
      const transform = options === null ? null : canonicalise(chosen.options, output);
      const blob =
        transform === null || isPlainConversion(transform)
          ? await renditions.get(image, output)
          : await transformations.get(image, transform, resourcesFor(image.tenant));
      return { image, blob, rendition: transform === null ? output : 'transformed', negotiation: negotiationOf(image, asked, chosen) };
    });
    await sendRendition(ctx, made.image, made.blob, made.rendition, made.image.id, made.negotiation);
  });

  router.get('/:id/variants/:file', async (ctx) => {
    const file = ctx.params.file ?? '';
    const [name = '', extension = ''] = file.split('.', 2);
    const found = await records.serve(tenantOf(ctx), ctx.params.id ?? '', async (image) => {
      assertServable(image);
      const available = image.variants?.items ?? [];
      const variant = available.find((item) => item.key.endsWith(`/variants/${file}`));
      if (variant !== undefined) {
        const built = await blobs.stat(variant.key);
        if (built === null) throw new BlobNotFoundError(variant.key);
        return { image, built };
      }
      // A preset in a format it was not built in (or added since): made on request like any transformation.
      const { presets } = transforms();
      const preset = presets.get(name);
      const format = formatForExtension(extension);
      if (preset === undefined || format === null) {
        throw new HttpError(404, 'no_such_variant', `no variant ${file}`, {
          available: available.map((item) => item.key.slice(item.key.lastIndexOf('/') + 1)),
          presets: [...presets.keys()],
        });
      }
      return { image, made: await transformations.get(image, canonicalise(parseOptions(preset), format), resourcesFor(image.tenant)) };
    });
    const downloadName = `${found.image.id}-${name}`;
    if (found.made !== undefined) {
      await sendRendition(ctx, found.image, found.made, `variants/${file}`, downloadName);
      return;
    }
    await sendBlob(ctx, blobs, found.built, { name: downloadName });
    hits.record(found.image, `variants/${file}`);
  });

  // An id without an extension: /v1/images/ID.jpg is only read, so DELETE there is a 405 that allows GET and HEAD.
  router.delete(segmentRoute('/v1/images', /[^/.]+/), async (ctx) => {
    const image = await findImage(lookup, tenantOf(ctx), segmentOf(ctx));
    await deleteImage(
      {
        images,
        blobs,
        storedBytes,
        forget: async (id) => {
          responses.forget(id);
          records.forget(id);
          await stored.forgetImage(id);
        },
        announce,
      },
      { tenant: image.tenant, imageId: image.id },
    );
    ctx.status = 204;
  });

  return router;
}
