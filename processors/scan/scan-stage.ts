import { createEvent, type EventOf, type ImageEvent } from '../../lib/events/envelope.ts';
import { TOPICS } from '../../lib/events/topics.ts';
import { scanOriginal, type ScanDependencies } from '../../lib/scan-original.ts';

/** image.uploaded → image.scanned. */
export function createScanStage(dependencies: ScanDependencies) {
  return async (event: EventOf<typeof TOPICS.imageUploaded>): Promise<readonly ImageEvent[]> => {
    const original = { key: event.payload.originalKey, format: event.payload.format };
    return [createEvent(TOPICS.imageScanned, event, await scanOriginal(dependencies, event, original))];
  };
}
