import { createEvent, type EventOf, type ImageEvent } from '../../lib/events/envelope.ts';
import { TOPICS } from '../../lib/events/topics.ts';
import { scanOriginal, type ScanDependencies } from '../../lib/scan-original.ts';

/**
 * image.rescan-requested → image.rescanned: the original scanned again with
 * the signatures clamd has now. An infected original moves to quarantine, and
 * the catalog stops serving the image and everything derived from it.
 */
export function createRescanStage(dependencies: ScanDependencies) {
  return async (event: EventOf<typeof TOPICS.imageRescanRequested>): Promise<readonly ImageEvent[]> => [
    createEvent(TOPICS.imageRescanned, event, await scanOriginal(dependencies, event, event.payload.original)),
  ];
}
