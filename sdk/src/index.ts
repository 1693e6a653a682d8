export { ProgImage, type TransformedImage } from './client.ts';
export type { ClientOptions, RequestOptions } from './transport.ts';
export type { SigningSecret } from '@progimage/transform-language';
export type {
  Images,
  UploadOptions,
  UploadManyOptions,
  UploadOutcome,
  UploadProgress,
  WaitOptions,
  ListOptions,
  ImageUrlOptions,
  SignedUrl,
  SignedUrlOptions,
} from './images.ts';
export type { Batches, CreateBatchOptions, GetBatchOptions } from './batches.ts';
export type {
  Webhooks,
  Webhook,
  WebhookWithSecret,
  WebhookEventType,
  WebhookDelivery,
  WebhookDeliveryState,
  WebhookDeliveryPage,
  CreateWebhookOptions,
  UpdateWebhookOptions,
  RotateSecretOptions,
  ListDeliveriesOptions,
} from './webhooks.ts';
export type { ImageInput, BodyOptions } from './upload-body.ts';
export type {
  ImageStatus,
  StageState,
  UploadedImage,
  Image,
  ImagePage,
  BatchCounts,
  Batch,
  BatchItem,
  BatchPage,
  BatchRequest,
  BatchEvent,
} from '@progimage/transform-language';
export * from './errors.ts';
export {
  GRAVITIES,
  CROP_STRATEGIES,
  FITS,
  OUTPUT_FORMATS,
  MASK_SHAPES,
  METADATA_MODES,
  TEXT_FONTS,
  OPTION_ALIASES,
  TRANSFORM_OPTION_NAMES,
  type TransformOptions,
  type TransformInput,
  type TransformOptionName,
  type OptionAlias,
  type Gravity,
  type CropGravity,
  type Fit,
  type OutputFormat,
  type MaskShape,
  type MetadataMode,
  type TextFont,
  type Colour,
  type CropRect,
  type Sides,
} from '@progimage/transform-language';
