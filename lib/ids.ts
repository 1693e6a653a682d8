import { z } from 'zod';

/**
 * Image ids are lowercase UUIDs. The strict pattern is what keeps an id safe
 * to use inside blob keys and URLs: no "/", "..", NUL or upper case.
 */
export const imageIdSchema = z.uuid({ error: 'expected an image id (a lowercase UUID)' }).regex(/^[0-9a-f-]{36}$/);
export type ImageId = z.infer<typeof imageIdSchema>;

export const tenantSchema = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'expected a tenant name: a-z, 0-9, "-"');
export type Tenant = z.infer<typeof tenantSchema>;

/** Until tenants and API keys exist, every image belongs to this tenant. */
export const DEFAULT_TENANT: Tenant = 'default';
