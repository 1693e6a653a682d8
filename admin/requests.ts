import { z } from 'zod';
import { MAX_CORS_ORIGINS } from '../lib/auth/tenants.ts';
import { MAX_TTL_SECONDS } from '../lib/events/payloads.ts';
import { tenantSchema } from '../lib/ids.ts';
import { webOriginSchema } from '../lib/web-origin.ts';
import { MAX_EXPIRES_IN_SECONDS } from '@progimage/transform-language';

/*
 * What the admin API accepts, checked where it enters: by the routes on the
 * JSON bodies, and by the admin command on its flags before it sends or
 * stores anything. A message says what was expected; the field it is about
 * is the path (a flag's name in the command).
 */

const ABOVE_ZERO = 'expected a number above 0';
const WHOLE_BYTES = 'expected a whole number of bytes above 0';
const WHOLE_SECONDS = 'expected a whole number of seconds above 0';
const WHOLE_IMAGES = 'expected a whole number of images above 0';

/** A tenant's settings a request changes: an absent one is unchanged (unlimited for a new tenant), null lifts a limit. */
export const tenantSettingsChangesSchema = z
  .object({
    requestsPerSecond: z.number({ error: ABOVE_ZERO }).positive({ error: ABOVE_ZERO }).nullable().optional(),
    storedBytesQuota: z.number({ error: WHOLE_BYTES }).int({ error: WHOLE_BYTES }).positive({ error: WHOLE_BYTES }).nullable().optional(),
    imagesInFlightLimit: z
      .number({ error: WHOLE_IMAGES })
      .int({ error: WHOLE_IMAGES })
      .positive({ error: WHOLE_IMAGES })
      .nullable()
      .optional(),
    signedGetsOnly: z.boolean({ error: 'expected true or false' }).optional(),
    defaultTtlSeconds: z
      .number({ error: WHOLE_SECONDS })
      .int({ error: WHOLE_SECONDS })
      .min(1, { error: WHOLE_SECONDS })
      .max(MAX_TTL_SECONDS, { error: `at most ${MAX_TTL_SECONDS} seconds` })
      .nullable()
      .optional(),
    corsOrigins: z
      .array(webOriginSchema)
      .max(MAX_CORS_ORIGINS, { error: `at most ${MAX_CORS_ORIGINS} origins` })
      .optional(),
  })
  .strict();
export type TenantSettingsChanges = z.infer<typeof tenantSettingsChangesSchema>;

export const newTenantSchema = tenantSettingsChangesSchema.extend({ name: tenantSchema });
export type NewTenant = z.infer<typeof newTenantSchema>;

export const newKeySchema = z.object({ label: z.string().max(200, { error: 'at most 200 characters' }).default('') }).strict();
export type NewKey = z.infer<typeof newKeySchema>;

/** A new ingest credential is asked for as a key is: with a label, to tell it from the tenant's others. */
export const newIngestCredentialSchema = newKeySchema;
export type NewIngestCredential = NewKey;

/** A key to revoke, sent itself (it is hashed, never stored nor logged). */
export const keyToRevokeSchema = z.object({ key: z.string().min(1, { error: 'expected the API key' }) }).strict();

/**
 * How long the secret being replaced keeps verifying: 0 retires it at once (it
 * leaked); longer than the longest-lived signed URL would serve nothing.
 */
export const rotationSchema = z
  .object({
    graceSeconds: z
      .number({ error: 'expected a number of seconds' })
      .min(0, { error: 'expected a number of seconds' })
      .max(MAX_EXPIRES_IN_SECONDS, { error: `at most ${MAX_EXPIRES_IN_SECONDS} seconds, the longest a signed URL lives` })
      .default(86_400),
  })
  .strict();
export type Rotation = z.infer<typeof rotationSchema>;

/** A page of a listing: the one after `cursor` (the previous page's `next`), of at most `limit` items. */
export const pageQuerySchema = z.object({
  cursor: z.string().optional(),
  limit: z.coerce.number({ error: 'expected a number from 1 to 1000' }).int().min(1).max(1000).default(100),
});
export type PageQuery = z.infer<typeof pageQuerySchema>;
