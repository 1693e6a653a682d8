import { setTimeout as sleep } from 'node:timers/promises';
import { createEvent, encodeEvent } from '../../lib/events/envelope.ts';
import { TOPICS } from '../../lib/events/topics.ts';
import type { EventBus } from '../../lib/ports/event-bus.ts';
import { imagesWithStatus, type CatalogImage, type CatalogImages } from '../catalog-images.ts';
import type { Job } from '../job.ts';
import type { SignatureState, SignatureStateCollection } from '../signature-state.ts';

/** Statuses of images that passed their scan and are (or will be) served. */
const SERVED_AFTER_SCAN = ['clean', 'stripped', 'compressed', 'ready'];

const scannedBeforeCurrentSignatures = (image: CatalogImage, state: SignatureState): boolean =>
  image.scan?.verdict === 'clean' && image.scan.signatureVersion !== state.version && image.scan.at < state.versionSince;

export interface RescanJobDependencies {
  readonly images: CatalogImages;
  readonly states: SignatureStateCollection;
  readonly bus: EventBus;
  readonly perSecond: number;
  readonly schedule: string | null;
}

/**
 * Publishes image.rescan-requested, at most `perSecond` a second, for every
 * clean image scanned before clamd's current signatures were loaded. Nothing
 * to do until the signatures job has recorded a version.
 */
export function rescanJob({ images, states, bus, perSecond, schedule }: RescanJobDependencies): Job {
  return {
    name: 'rescan',
    description: 'asks for a new scan of every clean image scanned with older signatures',
    schedule,
    async run({ count, signal }) {
      const state = (await states.get('clamd'))?.document;
      if (state === undefined) return;
      const started = Date.now();
      let requested = 0;
      for await (const image of imagesWithStatus(images, SERVED_AFTER_SCAN)) {
        count('examined');
        if (image.original === undefined || !scannedBeforeCurrentSignatures(image, state)) continue;
        signal.throwIfAborted();
        const event = createEvent(
          TOPICS.imageRescanRequested,
          { imageId: image.id, tenant: image.tenant },
          {
            original: { key: image.original.key, format: image.original.format },
          },
        );
        await bus.publish(TOPICS.imageRescanRequested, [{ key: image.id, value: encodeEvent(event) }]);
        count('requested');
        requested += 1;
        // The throttle: the n-th request goes out no sooner than n/perSecond seconds after the first.
        await sleep(Math.max(0, started + (requested * 1000) / perSecond - Date.now()), undefined, { signal });
      }
    },
  };
}
