import type { Readable } from 'node:stream';
import { Counter, type Registry } from 'prom-client';
import { blobKeys } from './blob-keys.ts';
import type { PayloadOf } from './events/envelope.ts';
import type { TOPICS } from './events/topics.ts';
import type { ImageId, Tenant } from './ids.ts';
import { sharedMetric } from './metrics.ts';
import { BlobNotFoundError, type BlobStore } from './ports/blob-store.ts';
import type { Scanner } from './ports/scanner.ts';

export interface ScanDependencies {
  readonly blobs: BlobStore;
  readonly scanner: Scanner;
  readonly verdicts: Counter<'verdict'>;
}

/** Verdicts of first scans and re-scans, by verdict. */
export const scanVerdictCounter = (registry: Registry): Counter<'verdict'> =>
  sharedMetric(
    registry,
    'progimage_scan_verdicts_total',
    (registers) =>
      new Counter({
        name: 'progimage_scan_verdicts_total',
        help: 'Scan verdicts (first scans and re-scans) by verdict',
        labelNames: ['verdict'] as const,
        registers,
      }),
  );

type Verdict = PayloadOf<typeof TOPICS.imageScanned>;

/**
 * The original's bytes, where they are: at its key, or in quarantine for a
 * retry after a crash between quarantining and publishing. Read at once, not
 * looked up first: one request to the store when the original is in place.
 * @throws BlobNotFoundError of the original's key when it is in neither place
 */
async function openOriginal(blobs: BlobStore, key: string, quarantineKey: string): Promise<{ key: string; stream: Readable }> {
  try {
    return { key, stream: await blobs.getStream(key) };
  } catch (error) {
    if (!(error instanceof BlobNotFoundError)) throw error;
    const quarantined = await blobs.getStream(quarantineKey).catch((second: unknown) => {
      throw second instanceof BlobNotFoundError ? error : second;
    });
    return { key: quarantineKey, stream: quarantined };
  }
}

/**
 * Streams an original to the scanner before anything decodes it; an infected
 * original moves to quarantine. Used for the first scan and for re-scans.
 */
export async function scanOriginal(
  { blobs, scanner, verdicts }: ScanDependencies,
  subject: { readonly imageId: ImageId; readonly tenant: Tenant },
  original: Verdict['original'],
): Promise<Verdict> {
  if (!scanner.enabled) {
    verdicts.inc({ verdict: 'unscanned' });
    return { verdict: 'unscanned', signatures: [], original };
  }
  const quarantineKey = blobKeys.quarantine(subject);
  const { key: sourceKey, stream } = await openOriginal(blobs, original.key, quarantineKey);
  const result = await scanner.scan(stream);
  verdicts.inc({ verdict: result.verdict });
  const verdict = {
    verdict: result.verdict,
    original,
    signatures: [...result.signatures],
    ...(result.engine === undefined ? {} : { engine: result.engine }),
    ...(result.signatureVersion === undefined ? {} : { signatureVersion: result.signatureVersion }),
  };
  if (result.verdict !== 'infected') return verdict;
  // An original shared by images of equal bytes (deduplicated) is quarantined by its own image's re-scan.
  if (sourceKey !== quarantineKey && sourceKey !== blobKeys.original(subject)) return verdict;
  await blobs.move(sourceKey, quarantineKey);
  return { ...verdict, quarantineKey };
}
