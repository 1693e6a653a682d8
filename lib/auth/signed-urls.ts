import { z } from 'zod';
import { MAX_EXPIRES_IN_SECONDS, SIGNABLE_PATH_AND_QUERY, signUrl } from '@progimage/transform-language';
import { currentSecret, type TenantRecord } from './tenants.ts';

/** What a signed URL is asked for with (POST /v1/signed-urls, the admin API and the admin command): image bytes only. */
export const signedUrlRequestSchema = z
  .object({
    path: z
      .string()
      .regex(
        SIGNABLE_PATH_AND_QUERY,
        'expected the path of image bytes as the routes serve it, /v1/images/ID.EXT or /v1/images/ID/variants/NAME.EXT with any query, e.g. ' +
          '/v1/images/ID.webp?w=400: no "." or ".." segments, "//", "\\", percent-encoding, upper case or other routes',
      )
      .meta({ description: 'e.g. /v1/images/ID.webp?w=400' }),
    expiresIn: z.number().int().min(1).max(MAX_EXPIRES_IN_SECONDS).default(3600),
  })
  .strict()
  .meta({ id: 'SignedUrlRequest' });
export type SignedUrlRequest = z.infer<typeof signedUrlRequestSchema>;

/** The answer: the path and query to GET, and when it stops working. */
export const signedUrlSchema = z.object({ url: z.string(), expiresAt: z.iso.datetime() }).meta({ id: 'SignedUrl' });
export type SignedUrl = z.infer<typeof signedUrlSchema>;

/** The URL signed with the tenant's current secret. */
export function signedUrlFor(tenant: TenantRecord, { path, expiresIn }: SignedUrlRequest): SignedUrl {
  const expiresAt = new Date(Date.now() + expiresIn * 1000);
  return { url: signUrl(path, tenant.id, currentSecret(tenant), expiresAt), expiresAt: expiresAt.toISOString() };
}
