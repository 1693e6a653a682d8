import { DEFAULT_TENANT } from '../ids.ts';
import type { Logger } from '../logger.ts';
import { apiKeyHash } from './keys.ts';
import { createApiKey, createTenant, UNLIMITED, type TenantCollections } from './tenants.ts';

/**
 * The tenant a new installation starts with, so that it can be used at once.
 * With `bootstrapKey` (PROGIMAGE_BOOTSTRAP_API_KEY) that key is made valid
 * for it; without, a store with no tenant gets one and its new key is printed,
 * once: by the one process whose insert of the tenant won.
 */
export async function ensureDefaultTenant(collections: TenantCollections, bootstrapKey: string | null, log: Logger): Promise<void> {
  if (bootstrapKey !== null) {
    const created = await createTenant(collections, DEFAULT_TENANT, UNLIMITED, bootstrapKey);
    if (created === null && (await collections.apiKeys.get(apiKeyHash(bootstrapKey))) === null) {
      await createApiKey(collections, DEFAULT_TENANT, 'PROGIMAGE_BOOTSTRAP_API_KEY', bootstrapKey).catch(async (error: unknown) => {
        // Another process stored the same key at the same moment.
        if ((await collections.apiKeys.get(apiKeyHash(bootstrapKey))) === null) throw error;
      });
    }
    return;
  }
  if ((await collections.tenants.count()) > 0) return;
  const created = await createTenant(collections, DEFAULT_TENANT, UNLIMITED);
  if (created === null) return;
  log.info({ tenant: DEFAULT_TENANT }, 'created the first tenant');
  process.stdout.write(
    `\nProgImage: created tenant "${DEFAULT_TENANT}". Its API key, shown only this once:\n\n    ${created.apiKey}\n\n` +
      'Send it as "Authorization: Bearer <key>". More tenants and keys: npm run admin -- help\n\n',
  );
}
