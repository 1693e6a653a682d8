import { Counter, type Registry } from 'prom-client';
import { blobKeys } from './blob-keys.ts';
import type { PayloadOf } from './events/envelope.ts';
import type { TOPICS } from './events/topics.ts';
import type { ImageId, Tenant } from './ids.ts';
import { sharedMetric } from './metrics.ts';
import type { BlobStore } from './ports/blob-store.ts';
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
  // A retry after a crash between quarantining and publishing finds the original already moved.
  const sourceKey = (await blobs.stat(original.key)) === null && (await blobs.stat(quarantineKey)) !== null ? quarantineKey : original.key;
  const result = await scanner.scan(await blobs.getStream(sourceKey));
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
