/**
 * Every Kafka topic ProgImage uses. Topics are created by the project
 * (broker auto-creation stays off), keyed by image id so that one image's
 * events stay in order.
 */
export const TOPICS = {
  ingestRequested: 'ingest.requested',
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
} as const;

export type Topic = (typeof TOPICS)[keyof typeof TOPICS];

export const ALL_TOPICS: readonly Topic[] = Object.values(TOPICS);
