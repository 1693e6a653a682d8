import type { ImageId, Tenant } from './ids.ts';
import { EXTENSIONS, type OutputFormat } from './imaging/formats.ts';

/**
 * Every blob key ProgImage writes, in one place. Keys derive from the image id
 * (and the stage and its options), so a retried stage overwrites its own
 * output instead of adding a second copy.
 */
interface Subject {
  readonly tenant: Tenant;
  readonly imageId: ImageId;
}

const derived = ({ tenant, imageId }: Subject): string => `derived/${tenant}/${imageId}`;

export const blobKeys = {
  /** The upload exactly as received: private, never served. */
  original: ({ tenant, imageId }: Subject): string => `originals/${tenant}/${imageId}`,
  /** Where an infected original is moved: never served, kept for inspection. */
  quarantine: ({ tenant, imageId }: Subject): string => `quarantine/${tenant}/${imageId}`,
  /** The stripped master: upright, sRGB, no metadata. */
  master: (subject: Subject, format: OutputFormat): string => `${derived(subject)}/master.${EXTENSIONS[format]}`,
  /** The master re-encoded smaller. */
  compressed: (subject: Subject, format: OutputFormat): string => `${derived(subject)}/compressed.${EXTENSIONS[format]}`,
  variant: (subject: Subject, name: string, format: OutputFormat): string => `${derived(subject)}/variants/${name}.${EXTENSIONS[format]}`,
  /** The master converted to another format on request. */
  rendition: (subject: Subject, format: OutputFormat): string => `${derived(subject)}/formats/master.${EXTENSIONS[format]}`,
  /** A transformation of the master, named by the hash of its canonical form. */
  transformed: (subject: Subject, hash: string, format: OutputFormat): string =>
    `${derived(subject)}/transforms/${hash}.${EXTENSIONS[format]}`,
  /** An output of a batch kept for its item (the item's source is not a stored image, or stays as it is). */
  batchOutput: (
    { tenant, batchId, index, transform }: { tenant: Tenant; batchId: ImageId; index: number; transform: number },
    format: OutputFormat,
  ): string => `batches/${tenant}/${batchId}/${index}/${transform}.${EXTENSIONS[format]}`,
  /** Where a tenant's upstream systems put the objects their ingest requests name; ProgImage removes each once taken in. */
  incoming: (tenant: Tenant): string => `incoming/${tenant}/`,
  /** Everything derived from one image, for deletion. */
  derivedPrefix: (subject: Subject): string => `${derived(subject)}/`,
} as const;
