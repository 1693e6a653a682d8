/**
 * Every Kafka topic ProgImage uses. Topics are created by the project
 * (broker auto-creation stays off), keyed by image id so that one image's
 * events stay in order.
 *
 * Two are public contracts with upstream systems: ingest.requested, which
 * they publish (lib/events/ingest-request.ts), and progimage.outcomes.v1,
 * which they consume (lib/events/outcomes.ts). Every other topic is
 * internal: its events may change with any release.
 */
export const TOPICS = {
  ingestRequested: 'ingest.requested',
  ingestAdmitted: 'ingest.admitted',
  imageUploaded: 'image.uploaded',
  imageScanned: 'image.scanned',
  imageStripped: 'image.stripped',
  imageCompressed: 'image.compressed',
  imageVariantsBuilt: 'image.variants-built',
  imageFailed: 'image.failed',
  imageRescanRequested: 'image.rescan-requested',
  imageRescanned: 'image.rescanned',
  imageExpired: 'image.expired',
  imageDeduplicated: 'image.deduplicated',
  transformRequested: 'transform.requested',
  transformCompleted: 'transform.completed',
  deadLetter: 'progimage.dead-letter',
  /** Versioned in its name: a change an upstream's consumer would not read comes on a new topic, beside this one. */
  outcomes: 'progimage.outcomes.v1',
} as const;

export type Topic = (typeof TOPICS)[keyof typeof TOPICS];

export const ALL_TOPICS: readonly Topic[] = Object.values(TOPICS);
