import { blobKeys } from '../../lib/blob-keys.ts';
import { createEvent, type EventOf, type ImageEvent } from '../../lib/events/envelope.ts';
import { TOPICS } from '../../lib/events/topics.ts';
import type { BlobStore } from '../../lib/ports/blob-store.ts';
import type { Scanner } from '../../lib/ports/scanner.ts';

export interface ScanStageDependencies {
  readonly blobs: BlobStore;
  readonly scanner: Scanner;
}

/**
 * image.uploaded → image.scanned. Streams the original to the scanner before
 * anything decodes it; an infected original moves to quarantine.
 */
export function createScanStage({ blobs, scanner }: ScanStageDependencies) {
  return async (event: EventOf<typeof TOPICS.imageUploaded>): Promise<readonly ImageEvent[]> => {
    const originalKey = event.payload.originalKey;
    const original = { key: originalKey, format: event.payload.format };
    if (!scanner.enabled) {
      return [createEvent(TOPICS.imageScanned, event, { verdict: 'unscanned', signatures: [], original })];
    }
    const quarantineKey = blobKeys.quarantine(event);
    // A retry after a crash between quarantining and publishing finds the original already moved.
    const sourceKey = (await blobs.stat(originalKey)) === null && (await blobs.stat(quarantineKey)) !== null
      ? quarantineKey
      : originalKey;
    const result = await scanner.scan(await blobs.getStream(sourceKey));
    const verdict = {
      verdict: result.verdict,
      original,
      signatures: [...result.signatures],
      ...(result.engine === undefined ? {} : { engine: result.engine }),
      ...(result.signatureVersion === undefined ? {} : { signatureVersion: result.signatureVersion }),
    };
    if (result.verdict !== 'infected') return [createEvent(TOPICS.imageScanned, event, verdict)];
    await blobs.move(sourceKey, quarantineKey);
    return [createEvent(TOPICS.imageScanned, event, { ...verdict, quarantineKey })];
  };
}
