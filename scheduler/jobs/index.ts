import type { ImageIdClaims } from '../../lib/auth/image-id-claims.ts';
import type { Config } from '../../lib/config/index.ts';
import type { BlobStore } from '../../lib/ports/blob-store.ts';
import type { EventBus } from '../../lib/ports/event-bus.ts';
import type { CatalogImages } from '../catalog-images.ts';
import type { Job } from '../job.ts';
import type { SignatureStateCollection } from '../signature-state.ts';
import { duplicatesJob } from './duplicates.ts';
import { expiryJob } from './expiry.ts';
import { imageIdClaimsJob } from './image-id-claims.ts';
import { orphansJob } from './orphans.ts';
import { rescanJob } from './rescan.ts';
import { signaturesJob } from './signatures.ts';

export interface JobDependencies {
  readonly config: Config;
  readonly images: CatalogImages;
  readonly claims: ImageIdClaims;
  readonly states: SignatureStateCollection;
  readonly bus: EventBus;
  readonly blobs: BlobStore;
}

/** Every job the scheduler knows, with its schedule from the configuration. */
export function createJobs({ config, images, claims, states, bus, blobs }: JobDependencies): readonly Job[] {
  const { schedules, freshclam, rescanPerSecond, orphanGraceSeconds } = config.scheduler;
  return [
    signaturesJob({ states, clamd: config.scan.clamd, freshclam, schedule: schedules.signatures }),
    rescanJob({ images, states, bus, perSecond: rescanPerSecond, schedule: schedules.rescan }),
    expiryJob({ images, bus, schedule: schedules.expiry }),
    orphansJob({ images, blobs, graceSeconds: orphanGraceSeconds, schedule: schedules.orphans }),
    duplicatesJob({ images, blobs, bus, schedule: schedules.duplicates }),
    imageIdClaimsJob({ images, claims }),
  ];
}
