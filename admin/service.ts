import { openTenantCollections } from '../lib/auth/tenants.ts';
import type { ServiceFactory } from '../lib/service/host.ts';
import { StoredTenantAdministration } from './tenant-administration.ts';
import { tenantRoutes } from './tenant-routes.ts';

/** The admin API of tenants, API keys and signing secrets, on the catalog store the gatekeepers read them from. */
export const adminApi: ServiceFactory = async ({ config, catalogStore }) => {
  const store = await catalogStore();
  const administration = new StoredTenantAdministration(await openTenantCollections(store));
  return {
    name: 'admin-api',
    routes: tenantRoutes(administration, config.auth.adminToken),
    readiness: { 'catalog-store': () => store.checkHealth() },
    stop: () => Promise.resolve(),
  };
};
