import { createOutcome, OUTCOME_TYPES, type Outcome } from '../lib/events/outcomes.ts';
import { imageLinks } from '../lib/image-links.ts';
import type { ImageRecord } from './image-record.ts';
import { imageView } from './image-view.ts';

/** When the last stage of a ready image was recorded. */
const readyAt = (record: ImageRecord): string =>
  [record.original?.at, record.scan?.at, record.master?.at, record.compression?.at, record.variants?.at].reduce<string>(
    (latest, at) => (at !== undefined && at > latest ? at : latest),
    record.createdAt,
  );

/**
 * The outcome an image's record has reached (ready, failed, infected or
 * deleted), with the links an upstream needs; null while it is on its way.
 * Equal records give equal outcomes, their event id included.
 */
export function imageOutcomeOf(record: ImageRecord): Outcome | null {
  const subject = { imageId: record.id, tenant: record.tenant };
  const identity = [record.id];
  const view = imageView(record);
  const self = view.links.self;
  switch (record.status) {
    case 'ready': {
      const master = record.compression?.master;
      const image = view.links.image;
      if (master === undefined || image === undefined) throw new Error(`image ${record.id} is ready without a master`);
      const { format, width, height, bytes } = master;
      const links = { ...imageLinks(record.id, master), image };
      const payload = { format, width, height, bytes, expiresAt: view.expiresAt, links, variants: [...view.variants] };
      return createOutcome(OUTCOME_TYPES.imageReady, subject, payload, identity, readyAt(record));
    }
    case 'failed': {
      const failure = record.failure;
      if (failure === undefined) throw new Error(`image ${record.id} failed without a failure`);
      return createOutcome(
        OUTCOME_TYPES.imageFailed,
        subject,
        { stage: failure.stage, reason: failure.reason, links: { self } },
        identity,
        failure.at,
      );
    }
    case 'infected': {
      const scan = record.scan;
      if (scan === undefined) throw new Error(`image ${record.id} is infected without a scan`);
      return createOutcome(OUTCOME_TYPES.imageInfected, subject, { signatures: scan.signatures, links: { self } }, identity, scan.at);
    }
    case 'deleted': {
      const deletedAt = record.deletedAt ?? record.updatedAt;
      return createOutcome(OUTCOME_TYPES.imageDeleted, subject, { deletedAt }, identity, deletedAt);
    }
    default:
      return null;
  }
}
