import type { Image } from '@progimage/transform-language';
import type { ImageRecord } from './image-record.ts';

const stageState = (done: boolean, failed: boolean): 'done' | 'failed' | 'pending' => (done ? 'done' : failed ? 'failed' : 'pending');

/**
 * The public JSON of an image: what it is, where each stage stands, and where to get it. Keys stay private.
 * Its shape is the client package's `Image`, so the two cannot drift apart.
 */
export function imageView(image: ImageRecord): Image {
  const failedAt = image.failure?.stage;
  const master = image.compression?.master ?? image.master;
  const base = `/v1/images/${image.id}`;
  return {
    id: image.id,
    status: image.status,
    createdAt: image.createdAt,
    updatedAt: image.updatedAt,
    format: master?.format ?? image.original?.format ?? null,
    width: master?.width ?? image.original?.width ?? null,
    height: master?.height ?? image.original?.height ?? null,
    bytes: master?.bytes ?? null,
    pages: master?.pages ?? null,
    original:
      image.original === undefined
        ? null
        : {
            format: image.original.format,
            contentType: image.original.contentType,
            bytes: image.original.bytes,
            sha256: image.original.sha256,
            width: image.original.width,
            height: image.original.height,
            filename: image.original.filename ?? null,
          },
    expiresAt: image.original?.expiresAt ?? null,
    stages: {
      upload: { state: stageState(image.original !== undefined, failedAt === 'ingest'), at: image.original?.at ?? null },
      scan: {
        state: stageState(image.scan !== undefined, failedAt === 'scan'),
        at: image.scan?.at ?? null,
        verdict: image.scan?.verdict ?? null,
        signatures: image.scan?.signatures ?? [],
        engine: image.scan?.engine ?? null,
        signatureVersion: image.scan?.signatureVersion ?? null,
      },
      strip: { state: stageState(image.master !== undefined, failedAt === 'strip'), at: image.master?.at ?? null },
      compress: {
        state: stageState(image.compression !== undefined, failedAt === 'compress'),
        at: image.compression?.at ?? null,
        bytesBefore: image.compression?.bytesBefore ?? null,
        bytesAfter: image.compression?.bytesAfter ?? null,
        kept: image.compression?.kept ?? null,
      },
      variants: { state: stageState(image.variants !== undefined, failedAt === 'variants'), at: image.variants?.at ?? null },
    },
    failure: image.failure === undefined ? null : { stage: image.failure.stage, reason: image.failure.reason, at: image.failure.at },
    variants: (image.variants?.items ?? []).map((variant) => ({
      name: variant.name,
      format: variant.format,
      width: variant.width,
      height: variant.height,
      bytes: variant.bytes,
      url: `${base}/variants/${variant.key.slice(variant.key.lastIndexOf('/') + 1)}`,
    })),
    links: { self: base, ...(master === undefined ? {} : { image: `${base}.${master.key.slice(master.key.lastIndexOf('.') + 1)}` }) },
  };
}
