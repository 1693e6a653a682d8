import { openIngestCredentials } from '../lib/auth/ingest-credentials.ts';
import { openTenantCollections } from '../lib/auth/tenants.ts';
import { openPipelineImages } from '../lib/backlog/pipeline-images.ts';
import type { ServiceFactory } from '../lib/service/host.ts';
import { adminPaths } from './contract.ts';
import { StoredTenantAdministration } from './tenant-administration.ts';
import { tenantRoutes } from './tenant-routes.ts';

/** The admin API of tenants, API keys, signing secrets and ingest credentials, on the catalog store the services read them from. */
export const adminApi: ServiceFactory = async ({ config, catalogStore }) => {
  const store = await catalogStore();
  const administration = new StoredTenantAdministration(
    await openTenantCollections(store),
    await openIngestCredentials(store),
    await openPipelineImages(store),
  );
  return {
    name: 'admin-api',
    routes: tenantRoutes(administration, config.auth.adminToken),
    contract: adminPaths,
    readiness: { 'catalog-store': () => store.checkHealth() },
    stop: () => Promise.resolve(),
  };
};
